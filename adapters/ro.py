"""Romania: national import system at Autoritatea Vamală Română; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="RO",
    name="Romania",
    language="ro",
    agency="Autoritatea Vamală Română",
    national_system="national import system",
    soap_version="1.1",
    customisation="RO-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
