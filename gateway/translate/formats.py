"""Value formats a mapping rule can name: each converts a JSON-mode value to XML text and back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    out: Callable[[object], str]
    back: Callable[[str], object]


def _int_out(v: Any) -> str:
    # JSON mode gives an int (or its text); int() refuses anything else. No isinstance against a
    # runtime-checkable Protocol here: that check costs more than the whole conversion, per field.
    return str(int(v))


def _decimal_out(v: object) -> str:
    d = Decimal(str(v))
    return format(d, "f")


def _date102_back(text: str) -> str:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8])).isoformat()


def _datetime_out(v: object) -> str:
    # JSON mode gives '2026-10-05T10:01:00Z'; xs:dateTime accepts it as is.
    return str(v)


def _datetime_back(text: str) -> str:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    iso = parsed.isoformat()
    return iso.replace("+00:00", "Z")


def _dt304_out(v: object) -> str:
    # WCO DateTimeString format 304 (CCYYMMDDHHMMSS + zone): always written in UTC ('Z'), so offsets that
    # are not whole hours survive the trip; aware datetimes compare by instant.
    parsed = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "Z"


def _dt304_back(text: str) -> str:
    body, zone = text[:14], text[14:] or "Z"
    parsed = datetime.strptime(body, "%Y%m%d%H%M%S")
    suffix = "Z" if zone in ("Z", "+00", "-00") else f"{zone[:3]}:00"
    return parsed.isoformat() + suffix


def _utc_seconds_out(v: object) -> str:
    # NCTS DateTime (xs:dateTime without zone, pattern YYYY-MM-DDTHH:MM:SS): written in UTC.
    parsed = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _utc_date_out(v: object) -> str:
    # The UTC calendar day of an instant (NCTS release/acceptance dates); written out only.
    return _utc_seconds_out(v)[:10]


def _utc_seconds_back(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=None).isoformat() + "Z"


def _date_instant_back(text: str) -> str:
    # a date standing for an instant (NCTS IE025 releaseDate = the endorsement's time): midnight UTC
    return f"{date.fromisoformat(text).isoformat()}T00:00:00Z"


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("str", str, str),
        Format("int", _int_out, int),
        Format("decimal", _decimal_out, lambda t: t),
        Format("date", str, lambda t: date.fromisoformat(t).isoformat()),
        Format("date102", lambda v: str(v).replace("-", ""), _date102_back),
        Format("datetime", _datetime_out, _datetime_back),
        Format("datetime304", _dt304_out, _dt304_back),
        Format("bool", lambda v: "true" if v else "false", lambda t: t in ("true", "1")),
        # NCTS: a date where a DateTime is required (midnight), and a UTC instant without its zone
        Format("date_midnight", lambda v: f"{v}T00:00:00", lambda t: date.fromisoformat(t[:10]).isoformat()),
        Format("datetime_utc", _utc_seconds_out, _utc_seconds_back),
        Format("utc_date", _utc_date_out, lambda t: date.fromisoformat(t).isoformat()),
        Format("bool01", lambda v: "1" if v else "0", lambda t: t == "1"),
        Format("date_instant", _utc_date_out, _date_instant_back),
    )
}
