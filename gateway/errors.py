"""Problems and refusals in the eTIR style: a 3-digit code, a pointer to the field, a plain sentence.

1xx validation, 2xx workflow, 3xx functional, 4xx internal, 5xx customs side. Every layer (model, rules,
XML, signatures, transports) raises :class:`Refusal` with one or more :class:`Problem` values, so the
CLI, the API and the relay can all report them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


class Code:
    """The error codes the gateway emits; conformance publishes this table for national endpoints."""

    # 1xx validation
    UNREADABLE = 100
    MISSING = 101
    UNKNOWN_FIELD = 102
    BAD_VALUE = 103
    PATTERN = 104
    ORDER = 105
    ITEM_RANGE = 106
    UNKNOWN_CODE = 107
    TOTALS = 108
    SCHEMA = 109
    HOSTILE_XML = 110
    TOO_LARGE = 111
    SIGNATURE_MISSING = 120
    SIGNATURE_INVALID = 121
    CERT_UNTRUSTED = 122
    WEAK_ALGORITHM = 123
    # 2xx workflow
    NOT_ACTIVATED = 201
    ALREADY_ACTIVATED = 202
    EXPIRED = 203
    ITEM_STATE = 204
    DEADLINE_PASSED = 205
    TRANSIT_OVERDUE = 206
    AMENDMENT_WINDOW = 207
    NOT_SIGNED = 208
    CANCELLATION = 209
    CARNET_CLOSED = 210
    NOT_CANCELLABLE = 211
    LIMIT_REACHED = 212
    ADMISSION_OPEN_ELSEWHERE = 215  # a notice: recorded with a flag (Annex A Art. 10.2)
    ANSWER_CORRECTED = 216  # a notice: customs' answer recorded as the Convention has it
    TRANSIT_OPEN_ELSEWHERE = 217  # a notice: imported elsewhere while in transit (Annex A Art. 10.2)
    DUPLICATE = 299
    # 3xx functional
    CARNET_NOT_FOUND = 301
    ITEM_NOT_ON_LIST = 302
    TERRITORY_NOT_COVERED = 303
    UNKNOWN_OFFICE = 304
    NOT_AUTHORISED = 305
    PROCESSED_ABROAD = 306
    VALIDITY_TOO_LONG = 307
    DEADLINE_PAST_VALIDITY = 308
    ITEM_ADDED = 309
    WRONG_OFFICE = 310
    SEALS = 311
    DEADLINE_TOO_SHORT = 312
    WRONG_TERRITORY = 313
    UNKNOWN_REFERENCE = 314
    INTENDED_USE = 318
    CLAIM_BARRED = 320
    CLAIM_OVER_CAP = 321
    # 4xx internal
    INTERNAL = 400
    NOT_CONFIGURED = 401
    # 5xx customs side
    CUSTOMS_FAULT = 500
    CUSTOMS_UNAVAILABLE = 503
    CUSTOMS_TIMEOUT = 504
    CUSTOMS_REJECTED = 510


TITLES: dict[int, str] = {
    100: "unreadable input",
    101: "required field missing",
    102: "unknown field",
    103: "invalid value",
    104: "value does not match its pattern",
    105: "dates or steps in the wrong order",
    106: "invalid item range",
    107: "unknown code",
    108: "totals do not match the general list",
    109: "document not valid under its schema",
    110: "hostile XML refused",
    111: "document too large or too deep",
    120: "signature missing",
    121: "signature invalid",
    122: "certificate not trusted",
    123: "weak or unsupported algorithm",
    201: "carnet not activated",
    202: "carnet already activated",
    203: "carnet expired",
    204: "goods are not where this transaction needs them",
    205: "re-export deadline passed",
    206: "transit overdue",
    207: "amendment not allowed",
    208: "carnet not signed by the holder",
    209: "cancellation refused",
    210: "carnet closed or replaced",
    211: "transaction cannot be cancelled",
    212: "limit reached",
    215: "goods still shown under admission in another territory",
    216: "customs' answer corrected to the Convention",
    217: "goods still shown in transit through another territory",
    299: "duplicate message",
    301: "carnet not found",
    302: "item not on the general list",
    303: "territory not covered by the carnet",
    304: "unknown customs office",
    305: "not authorised",
    306: "goods processed abroad",
    307: "validity longer than one year",
    308: "deadline past the carnet's validity",
    309: "item added after issue",
    310: "wrong customs office",
    311: "seals missing or broken",
    312: "re-export period shorter than the annex minimum",
    313: "wrong customs territory for this transaction",
    314: "answer matches no declaration sent",
    318: "intended use not allowed on a carnet",
    320: "claim barred",
    321: "claim above the guarantee cap",
    400: "internal error",
    401: "not configured",
    500: "customs system fault",
    503: "customs system unavailable",
    504: "customs system timed out",
    510: "rejected by customs",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason for refusing input.

    ``pointer`` is a JSON pointer (``/transactions/3/items``) for JSON input or an XPath for XML input.
    ``article`` names the Convention provision the rule comes from, when it comes from one.
    """

    code: int
    pointer: str
    message: str
    article: str | None = None

    @property
    def title(self) -> str:
        return TITLES.get(self.code, "error")

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["title"] = self.title
        if self.article is None:
            del data["article"]
        return data

    def __str__(self) -> str:
        where = f" at {self.pointer}" if self.pointer else ""
        basis = f" [{self.article}]" if self.article else ""
        return f"{self.code}{where}: {self.message}{basis}"


class Refusal(Exception):
    """Input refused for one or more stated problems; nothing was changed."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        self.problems: tuple[Problem, ...] = (problems,) if isinstance(problems, Problem) else tuple(problems)
        if not self.problems:
            raise ValueError("a Refusal needs at least one problem")
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def code(self) -> int:
        return self.problems[0].code

    def as_dict(self) -> dict[str, object]:
        return {"refused": True, "problems": [p.as_dict() for p in self.problems]}


def refuse(code: int, pointer: str, message: str, article: str | None = None) -> Refusal:
    """Build a single-problem refusal; ``raise refuse(...)`` reads like the rule it enforces."""
    return Refusal(Problem(code, pointer, message, article))


def pointer(*parts: object) -> str:
    """JSON pointer from path parts (RFC 6901 escaping)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
