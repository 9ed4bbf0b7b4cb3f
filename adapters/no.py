"""Norway: TVINN at Tolletaten; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="NO",
    name="Norway",
    language="nb",
    agency="Tolletaten",
    national_system="TVINN",
    soap_version="1.2",
    customisation="NO-EATA-1",
    grace="committed",  # accepts paper for one year from 2026-06-01 (docs/domain.md grace period)
)
