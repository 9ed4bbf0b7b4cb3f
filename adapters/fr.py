"""France: DELTA G at the DGDDI; SOAP 1.2. Quirk: trader names in upper case (a hook, not config)."""

from adapters._quirks import upper_case_names, upper_case_names_required
from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="FR",
    name="France",
    language="fr",
    agency="Direction générale des douanes et droits indirects",
    national_system="DELTA G",
    soap_version="1.2",
    customisation="FR-DELTA-EATA-1",
    prepare=upper_case_names,  # the gateway upper-cases before encoding ...
    check=upper_case_names_required,  # ... because the national system refuses anything else
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
