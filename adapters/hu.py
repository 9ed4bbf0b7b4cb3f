"""Hungary: CDPS at Nemzeti Adó- és Vámhivatal; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="HU",
    name="Hungary",
    language="hu",
    agency="Nemzeti Adó- és Vámhivatal",
    national_system="CDPS",
    soap_version="1.1",
    customisation="HU-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
