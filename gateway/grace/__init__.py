"""Grace-period policy and routing plans for the paper fallback."""

from gateway.grace.policy import Decision, GracePolicy, PaperStatus, default_policy
from gateway.grace.routing import Leg, Mode, RoutingPlan, plan_travel

__all__ = [
    "Decision",
    "GracePolicy",
    "Leg",
    "Mode",
    "PaperStatus",
    "RoutingPlan",
    "default_policy",
    "plan_travel",
]
