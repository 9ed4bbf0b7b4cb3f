"""Latvia: EMDAS at Valsts ieņēmumu dienests – Muitas pārvalde; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="LV",
    name="Latvia",
    language="lv",
    agency="Valsts ieņēmumu dienests – Muitas pārvalde",
    national_system="EMDAS",
    soap_version="1.1",
    customisation="LV-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
