"""Conformance suite: scenarios, runner, national-endpoint simulators, reports."""
