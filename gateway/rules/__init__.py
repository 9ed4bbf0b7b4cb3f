"""The Convention's rules: carnet checks and the ledger that replays and judges transactions."""

from gateway.rules.answers import Accept, Corrected, Refused, Verdict, check_answer, committed, rejected
from gateway.rules.carnet import carnet_problems, closed_problem, signature_valid_on
from gateway.rules.ledger import Ledger, cancel, judge, replay
from gateway.rules.positions import Position, Where

__all__ = [
    "Accept",
    "Corrected",
    "Ledger",
    "Position",
    "Refused",
    "Verdict",
    "Where",
    "cancel",
    "carnet_problems",
    "check_answer",
    "closed_problem",
    "committed",
    "judge",
    "rejected",
    "replay",
    "signature_valid_on",
]
