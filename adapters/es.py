"""Spain: DUA (AEAT) at Agencia Tributaria – Departamento de Aduanas e Impuestos Especiales; SOAP 1.2, WCO declaration (NCTS for transit)."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="ES",
    name="Spain",
    language="es",
    agency="Agencia Tributaria – Departamento de Aduanas e Impuestos Especiales",
    national_system="DUA (AEAT)",
    soap_version="1.2",
    customisation="ES-EATA-1",
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
