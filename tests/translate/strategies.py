"""Hypothesis strategies for the messages the dialects carry: any carnet, any kind, any territory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from gateway.messages import Declaration, DeclaredItem, Response, Trader
from gateway.model import Annex, Endorsement, Rejection, TransactionKind, Transit, TransportMode
from gateway.territories import EATA_COUNTRIES

TERRITORIES = sorted(EATA_COUNTRIES)
_CHARS = st.characters(
    whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" -.,/&'()øæåéüöäßçÅÉ", max_codepoint=0x17F
)


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_CHARS, min_size=1, max_size=max_size).map(lambda s: " ".join(s.split())).filter(bool)


codes = st.text(st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"), min_size=6, max_size=12)
ids = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=35)
dates = st.dates(min_value=date(2026, 6, 1), max_value=date(2028, 12, 31))
money = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2, allow_nan=False)
masses = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999.999"), places=3, allow_nan=False)
moments = st.datetimes(
    min_value=datetime(2026, 6, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


mrns = st.builds(
    lambda yy, cc, body, d: f"{yy}{cc}{body}J{d}",
    st.integers(min_value=26, max_value=99),
    st.sampled_from(TERRITORIES),
    st.text(st.sampled_from("ABCDEF0123456789"), min_size=12, max_size=12),
    st.integers(min_value=0, max_value=9),
)


def office(country: str) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789ABCDEFGHJKLMNPRSTUVWXYZ"), min_size=6, max_size=6).map(
        lambda s: country + s
    )


traders = st.builds(
    Trader,
    name=text(70),
    street=text(70),
    city=text(35),
    postcode=st.none() | st.text(st.sampled_from("0123456789ABC"), min_size=1, max_size=9),
    country=st.sampled_from([*TERRITORIES, "US", "JP", "CN"]),
    id=st.none() | st.text(st.sampled_from("ABCDEFGHIJ0123456789"), min_size=1, max_size=17),
)


@st.composite
def items(draw: st.DrawFn, with_mass: bool = False) -> tuple[DeclaredItem, ...]:
    numbers = draw(st.lists(st.integers(min_value=1, max_value=99999), min_size=1, max_size=12, unique=True))
    return tuple(
        DeclaredItem(
            item_number=n,
            description=draw(text(512)),
            marks_and_numbers=draw(st.none() | text(256)),
            pieces=draw(st.integers(min_value=1, max_value=99999)),
            gross_mass=draw(masses) if with_mass else draw(st.none() | masses),
            value=draw(money),
            origin=draw(st.none() | st.sampled_from(["DE", "JP", "CN", "US", "IT", "NO"])),
        )
        for n in sorted(numbers)
    )


@st.composite
def declarations(draw: st.DrawFn, kinds: list[TransactionKind], territory: str | None = None) -> Declaration:
    kind = draw(st.sampled_from(kinds))
    country = territory or draw(st.sampled_from(TERRITORIES))
    when = draw(dates)
    transit = None
    if kind in (TransactionKind.TRANSIT_START, TransactionKind.TRANSIT_DISCHARGE):
        transit = Transit(
            office_of_destination=draw(office(country)),
            final_date=when + timedelta(days=draw(st.integers(min_value=0, max_value=30))),
            seals=tuple(
                draw(
                    st.lists(st.text(st.sampled_from("ABC0123456789-"), min_size=1, max_size=20), max_size=4)
                )
            ),
        )
    transit_kinds = (TransactionKind.TRANSIT_START, TransactionKind.TRANSIT_DISCHARGE)
    return Declaration(
        message_id=draw(st.text(st.sampled_from("ABCDEFGHIJ0123456789"), min_size=1, max_size=22)),
        carnet_id=draw(st.sampled_from(["NO/2026/000123", "GB-123456", "DE/2026/4711", "CH0012345"])),
        transaction_id=draw(ids),
        transaction_code=draw(codes),
        kind=kind,
        office=draw(office(country)),
        date=when,
        holder=draw(
            traders.filter(lambda t: t.id) if kind == TransactionKind.TRANSIT_DISCHARGE else traders
        ),  # IE007 needs the EORI
        representative=draw(st.none() | traders),
        issuing_association=draw(text(70)),
        issuing_country=draw(st.sampled_from(TERRITORIES)),
        valid_until=when + timedelta(days=draw(st.integers(min_value=0, max_value=365))),
        annex=draw(st.sampled_from(list(Annex))),
        intended_use=draw(text(512)),
        currency=draw(st.sampled_from(["NOK", "EUR", "CHF", "GBP", "SEK", "DKK", "PLN"])),
        transport_mode=draw(st.none() | st.sampled_from(list(TransportMode))),
        intended_place_of_use=draw(st.none() | text(512)),
        not_processed_abroad=draw(st.none() | st.booleans()),
        transit=transit,
        movement_reference=draw(mrns) if kind == TransactionKind.TRANSIT_DISCHARGE else None,
        items=draw(items(with_mass=kind in transit_kinds)),
    )


def _midnight(moment):  # type: ignore[no-untyped-def]
    utc = moment.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


@st.composite
def responses(draw: st.DrawFn, kinds: list[TransactionKind], outcome: str | None = None) -> Response:
    kind = draw(st.sampled_from(kinds))
    country = draw(st.sampled_from(TERRITORIES))
    outcome = outcome or draw(st.sampled_from(["endorsement", "rejection"]))
    answer: dict = {}
    if outcome == "endorsement":
        answer["endorsement"] = Endorsement(
            office=draw(office(country)),
            place=draw(text(70)),
            # a transit is discharged on its release date (IE025 carries the day, not the time)
            at=_midnight(draw(moments)) if kind == TransactionKind.TRANSIT_DISCHARGE else draw(moments),
            reference=draw(st.text(st.sampled_from("ABCDEFGHIJ0123456789/-"), min_size=1, max_size=35)),
            final_date=draw(st.none() | dates),
            seals=tuple(
                draw(
                    st.lists(st.text(st.sampled_from("ABC0123456789-"), min_size=1, max_size=20), max_size=3)
                )
            ),
            # customs discharge a transit only with its seals intact (otherwise: unloading remarks)
            seals_intact=True
            if kind == TransactionKind.TRANSIT_DISCHARGE
            else draw(st.none() | st.booleans()),
            remarks=draw(st.none() | text(512)),
            officer=draw(text(70)),
        )
    else:
        answer["rejection"] = Rejection(
            office=draw(office(country)),
            at=draw(moments),
            code=draw(st.sampled_from([106, 203, 204, 205, 302, 304, 308, 510])),
            reason=draw(text(512)),
            officer=draw(st.none() | text(70)),
        )
    return Response(
        message_id=draw(st.text(st.sampled_from("ABCDEFGHIJ0123456789"), min_size=1, max_size=22)),
        in_reply_to=draw(st.text(st.sampled_from("ABCDEFGHIJ0123456789"), min_size=1, max_size=22)),
        carnet_id=draw(st.sampled_from(["NO/2026/000123", "GB-123456"])),
        transaction_id=draw(ids),
        kind=kind,
        **answer,
    )
