"""Sweden: TDS at Tullverket; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="SE",
    name="Sweden",
    language="sv",
    agency="Tullverket",
    national_system="TDS",
    soap_version="1.2",
    customisation="SE-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
