"""Luxembourg: national import system at Administration des douanes et accises; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="LU",
    name="Luxembourg",
    language="fr",
    agency="Administration des douanes et accises",
    national_system="national import system",
    soap_version="1.2",
    customisation="LU-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
