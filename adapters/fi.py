"""Finland: national import system at Tulli; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="FI",
    name="Finland",
    language="fi",
    agency="Tulli",
    national_system="national import system",
    soap_version="1.2",
    customisation="FI-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
