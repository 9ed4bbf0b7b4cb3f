"""Bulgaria: BICIS at Агенция „Митници“ (Customs Agency); SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="BG",
    name="Bulgaria",
    language="bg",
    agency="Агенция „Митници“ (Customs Agency)",
    national_system="BICIS",
    soap_version="1.1",
    customisation="BG-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
