"""Switzerland: Passar at the Federal Office for Customs and Border Security; SOAP 1.2.

Quirk said in config: Passar knows only the offices on its list (no "any CH office" fallback).
"""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="CH",
    name="Switzerland",
    language="de",
    agency="Federal Office for Customs and Border Security",
    national_system="Passar",
    soap_version="1.2",
    customisation="CH-PASSAR-EATA-1",
    office_policy="listed",
    grace="committed",  # accepts paper for one year from 2026-06-01 (docs/domain.md grace period)
)
