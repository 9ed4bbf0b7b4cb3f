"""Croatia: national import system at Carinska uprava; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="HR",
    name="Croatia",
    language="hr",
    agency="Carinska uprava",
    national_system="national import system",
    soap_version="1.1",
    customisation="HR-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
