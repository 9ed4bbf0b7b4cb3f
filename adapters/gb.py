"""United Kingdom: HMRC's CDS, CDS-like REST (XML over HTTPS, OAuth 2.0 client credentials).

CDS acknowledges a declaration at once (202) and pushes the decision later as a notification to the
gateway's callback URL, so this territory answers asynchronously.
"""

from gateway.adapter_spec import Adapter, OAuth, Timeouts

ADAPTER = Adapter(
    code="GB",
    name="United Kingdom",
    language="en",
    agency="HM Revenue & Customs",
    national_system="CDS",
    transport="rest",
    oauth=OAuth(scope="write:customs-declaration"),
    customisation="GB-CDS-EATA-1",
    office_prefixes=("GB", "XI"),  # XI: Northern Ireland offices, UK territory (Windsor Framework)
    params={
        "procedure": "5300",
        "additional_procedure": "D04",
    },  # docs/domain.md: CDS procedure 53 + D series
    timeouts=Timeouts(connect=3.0, read=10.0),  # only the acknowledgement is waited for
    grace="committed",  # accepts paper for one year from 2026-06-01 (docs/domain.md grace period)
)
