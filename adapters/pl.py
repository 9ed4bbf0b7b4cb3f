"""Poland: AIS/IMPORT PLUS at Krajowa Administracja Skarbowa; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="PL",
    name="Poland",
    language="pl",
    agency="Krajowa Administracja Skarbowa",
    national_system="AIS/IMPORT PLUS",
    soap_version="1.2",
    customisation="PL-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
