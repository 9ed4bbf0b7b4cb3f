"""Greece: ICISnet at Independent Authority for Public Revenue – Customs; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="GR",
    name="Greece",
    language="el",
    agency="Independent Authority for Public Revenue – Customs",
    national_system="ICISnet",
    soap_version="1.1",
    customisation="GR-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
