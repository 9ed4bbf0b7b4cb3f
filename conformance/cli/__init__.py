"""The conformance suite's and the simulators' commands (``conformance run``, ``simulate``), registered on
the gateway's command line by name (``gateway.cli.COMMANDS``), so the gateway's runtime never imports them."""
