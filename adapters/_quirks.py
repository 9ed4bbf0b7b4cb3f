"""The few national rules a config field cannot state, as small functions adapters point at.

``prepare`` hooks run in the gateway before encoding; ``check`` hooks are the national system's own rule
(the simulator applies them, so a missing ``prepare`` shows up as a rejection, as it would in production).
"""

from __future__ import annotations

from gateway.errors import Code, Problem
from gateway.messages import Declaration, Trader
from gateway.model import TransactionKind


def _upper(trader: Trader | None) -> Trader | None:
    return trader.model_copy(update={"name": trader.name.upper()}) if trader else None


def upper_case_names(declaration: Declaration) -> Declaration:
    return declaration.model_copy(
        update={"holder": _upper(declaration.holder), "representative": _upper(declaration.representative)}
    )


def upper_case_names_required(declaration: Declaration) -> Problem | None:
    for where, trader in (("holder", declaration.holder), ("representative", declaration.representative)):
        if trader is not None and trader.name != trader.name.upper():
            return Problem(Code.PATTERN, f"/{where}/name", "trader names must be in upper case")
    return None


def place_of_use_required(declaration: Declaration) -> Problem | None:
    if declaration.kind == TransactionKind.IMPORTATION and not declaration.intended_place_of_use:
        return Problem(Code.MISSING, "/intended_place_of_use", "an importation must state the place of use")
    return None
