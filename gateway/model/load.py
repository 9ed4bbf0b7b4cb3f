"""Reading eATA JSON: pydantic errors become 1xx problems with JSON pointers and plain sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, overload

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from gateway.errors import Code, Problem, Refusal, pointer, refuse

if TYPE_CHECKING:
    from gateway.model.document import CarnetDocument

M = TypeVar("M", bound=BaseModel)

_CODES = {
    "missing": Code.MISSING,
    "extra_forbidden": Code.UNKNOWN_FIELD,
    "string_pattern_mismatch": Code.PATTERN,
    "json_invalid": Code.UNREADABLE,
    "json_type": Code.UNREADABLE,
}


_PATTERNS = {
    "office": "a customs office reference number is 2 letters (the country) and 6 letters or digits, e.g. GB000060",
    "office_of_destination": "a customs office reference number is 2 letters (the country) and 6 letters or digits",
    "carnet_id": "a carnet number starts with the issuing country's 2-letter code, e.g. NO/2026/000123",
    "replaces": "a carnet number starts with the issuing country's 2-letter code, e.g. NO/2026/000123",
    "transaction_code": "a transaction code is 6 to 12 capital letters or digits",
    "cancellation_code": "a cancellation code is 6 to 12 capital letters or digits",
    "code": "a code of 6 to 12 capital letters or digits",
}


def _sentence(err: ErrorDetails) -> str:
    kind = err["type"]
    field = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
    if kind == "string_pattern_mismatch":
        hint = _PATTERNS.get(field, "the value does not have the expected form")
        return f"{err.get('input')!r} is not valid: {hint}"
    if kind == "missing":
        return "this field is required but missing"
    if kind == "extra_forbidden":
        return "this field is not part of the eATA v1 model"
    msg = str(err.get("msg", "invalid value"))
    return msg[0].lower() + msg[1:] if msg else "invalid value"


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]  # drop union tags
        code = _CODES.get(err["type"], Code.BAD_VALUE)
        if err["type"] == "value_error" and ("ISO 3166" in err["msg"] or "ISO 4217" in err["msg"]):
            code = Code.UNKNOWN_CODE
        problems.append(Problem(code, pointer(*loc), _sentence(err)))
    return problems


@overload
def load_document(data: bytes | str) -> CarnetDocument: ...
@overload
def load_document(data: bytes | str, model: type[M]) -> M: ...


def load_document(data: bytes | str, model: type[BaseModel] | None = None) -> BaseModel:
    """Parse and validate eATA JSON strictly (a carnet document unless ``model`` says otherwise); raise
    :class:`Refusal` with every problem found."""
    from gateway.model.document import CarnetDocument

    target = model or CarnetDocument
    try:
        return target.model_validate_json(data)
    except ValidationError as exc:
        problems = problems_from_validation(exc)
        if problems and all(p.code == Code.UNREADABLE for p in problems):
            raise refuse(
                Code.UNREADABLE, "", f"the file is not valid JSON: {exc.errors()[0]['msg']}"
            ) from None
        raise Refusal(problems) from None
