"""Slovenia: national import system at Finančna uprava Republike Slovenije; SOAP 1.1, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="SI",
    name="Slovenia",
    language="sl",
    agency="Finančna uprava Republike Slovenije",
    national_system="national import system",
    soap_version="1.1",
    customisation="SI-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
