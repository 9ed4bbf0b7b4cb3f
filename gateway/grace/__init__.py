"""Grace-period policy and routing plans for the paper fallback."""

from gateway.grace.policy import Decision, GracePolicy, PaperStatus, default_policy
from gateway.grace.routing import Leg, Mode, RoutingPlan, decide_leg, plan_travel

__all__ = [
    "Decision",
    "GracePolicy",
    "Leg",
    "Mode",
    "PaperStatus",
    "RoutingPlan",
    "decide_leg",
    "default_policy",
    "plan_travel",
]
