"""Czechia: e-Dovoz at Celní správa České republiky; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="CZ",
    name="Czechia",
    language="cs",
    agency="Celní správa České republiky",
    national_system="e-Dovoz",
    soap_version="1.1",
    customisation="CZ-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
