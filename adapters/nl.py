"""Netherlands: DMS at Douane (Belastingdienst); SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="NL",
    name="Netherlands",
    language="nl",
    agency="Douane (Belastingdienst)",
    national_system="DMS",
    soap_version="1.2",
    customisation="NL-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
