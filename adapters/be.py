"""Belgium: PLDA at Algemene Administratie van Douane en Accijnzen; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="BE",
    name="Belgium",
    language="nl",
    agency="Algemene Administratie van Douane en Accijnzen",
    national_system="PLDA",
    soap_version="1.2",
    customisation="BE-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
