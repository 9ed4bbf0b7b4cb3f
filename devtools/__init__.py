"""Developer and test tooling, kept out of the runtime package: a private RabbitMQ node and cluster
launcher (``rabbit``) and the demos (``demo``, ``chain_demo``). The gateway's runtime never imports this
package; tests, benchmarks and ``make demo`` do. The TEST PKI is ``conformance.testpki``: the simulators sign
with it, and devtools depends on conformance, never the reverse."""
