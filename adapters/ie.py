"""Ireland: AIS at Revenue Commissioners; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="IE",
    name="Ireland",
    language="en",
    agency="Revenue Commissioners",
    national_system="AIS",
    soap_version="1.1",
    customisation="IE-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
