"""Developer and test tooling, kept out of the runtime package: a private RabbitMQ node and cluster
launcher (``rabbit``), the throw-away TEST PKI (``testpki``), and the demos (``demo``, ``chain_demo``).
The gateway's runtime never imports this package; tests, benchmarks, the simulators and ``make demo`` do."""
