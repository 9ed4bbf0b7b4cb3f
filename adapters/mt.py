"""Malta: national import system at Customs Malta; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="MT",
    name="Malta",
    language="en",
    agency="Customs Malta",
    national_system="national import system",
    soap_version="1.1",
    customisation="MT-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
