"""Estonia: national import system at Maksu- ja Tolliamet; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="EE",
    name="Estonia",
    language="et",
    agency="Maksu- ja Tolliamet",
    national_system="national import system",
    soap_version="1.1",
    customisation="EE-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
