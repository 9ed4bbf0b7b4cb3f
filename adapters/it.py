"""Italy: AIDA at Agenzia delle Dogane e dei Monopoli; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="IT",
    name="Italy",
    language="it",
    agency="Agenzia delle Dogane e dei Monopoli",
    national_system="AIDA",
    soap_version="1.2",
    customisation="IT-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
