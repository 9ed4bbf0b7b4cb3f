"""Portugal: STADA at Autoridade Tributária e Aduaneira; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="PT",
    name="Portugal",
    language="pt",
    agency="Autoridade Tributária e Aduaneira",
    national_system="STADA",
    soap_version="1.1",
    customisation="PT-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
