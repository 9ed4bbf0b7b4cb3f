"""Slovakia: eCLO at Finančná správa Slovenskej republiky; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="SK",
    name="Slovakia",
    language="sk",
    agency="Finančná správa Slovenskej republiky",
    national_system="eCLO",
    soap_version="1.1",
    customisation="SK-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
