"""Conformance suite: scenarios, runner, national-endpoint simulators, reports, and the throw-away TEST PKI
(``testpki``) the simulators sign with."""
