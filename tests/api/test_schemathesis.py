"""Property-based API fuzzing over our own OpenAPI schema, for each role: whatever is sent, no 5xx comes
back, and every answer is one the contract documents — its status code, its content type and its body's
schema (problem documents included)."""

from __future__ import annotations

import contextlib

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is part of the test extras")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Gateway  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.mark.parametrize("who", ["issuer", "holder", "customs_ch", "operator"])
def test_every_answer_conforms_to_the_contract(gateway: Gateway, who: str) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    seen: list[int] = []
    failures: list[str] = []

    for op in schema.get_all_operations():
        operation = op.ok()
        if operation.path == "/v1/events" and operation.method == "get":
            continue  # a stream by design (wait_s); covered by its own test

        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=gateway.url, headers={"X-API-Key": gateway.keys[who]}, timeout=10)
            seen.append(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {exc}"[:600])
                raise

        with contextlib.suppress(AssertionError, BaseExceptionGroup):
            call()  # failures collected above, reported together
    assert not failures, "\n".join(failures[:15])
    assert len(seen) > 100
