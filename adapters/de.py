"""Germany: ATLAS at the Generalzolldirektion; SOAP 1.2. Quirk: importation must name the place of use."""

from adapters._quirks import place_of_use_required
from gateway.adapter_spec import Adapter, RetryPolicy, Timeouts

ADAPTER = Adapter(
    code="DE",
    name="Germany",
    language="de",
    agency="Generalzolldirektion",
    national_system="ATLAS",
    soap_version="1.2",
    customisation="DE-ATLAS-EATA-1",
    timeouts=Timeouts(connect=3.0, read=20.0),
    retry=RetryPolicy(attempts=4, backoff=0.5),
    check=place_of_use_required,
    grace="unconfirmed",  # EU member: paper after 2026-06-01 only where the state chooses to accept it
)
