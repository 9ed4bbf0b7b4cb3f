"""Austria: e-zoll at Bundesministerium für Finanzen – Zollverwaltung; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="AT",
    name="Austria",
    language="de",
    agency="Bundesministerium für Finanzen – Zollverwaltung",
    national_system="e-zoll",
    soap_version="1.2",
    customisation="AT-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
