"""Transports to national customs systems: SOAP (zeep) and CDS-like REST, sharing outcomes and retries."""

from gateway.transport.base import Delivered, FinalFailure, Outcome, RetryableFailure

__all__ = ["Delivered", "FinalFailure", "Outcome", "RetryableFailure"]
