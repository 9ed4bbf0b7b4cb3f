"""Cyprus: THESEAS at Department of Customs and Excise; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="CY",
    name="Cyprus",
    language="el",
    agency="Department of Customs and Excise",
    national_system="THESEAS",
    soap_version="1.1",
    customisation="CY-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
