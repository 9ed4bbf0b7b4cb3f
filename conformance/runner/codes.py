"""The error codes a national endpoint must answer with, as the Markdown table in docs/conformance.md.

``python -m conformance.runner.codes`` prints it; a test keeps the doc equal to the Code table.
"""

from __future__ import annotations

from gateway.errors import TITLES, Code

FAMILIES = {1: "validation", 2: "workflow", 3: "functional", 4: "internal", 5: "customs side"}
# Codes the scenarios demand of a national system, and where.
DEMANDED = {
    109: "schema-invalid (with a pointer to the element)",
    121: "invalid-signature",
    203: "expired-carnet",
    205: "deadline-past-validity",
    206: "transit-overdue",
    299: "duplicate-message",
    302: "item-not-on-list, rejection-then-corrected",
    304: "unknown-office",
    503: "endpoint-5xx (the gateway's verdict on HTTP 5xx)",
    504: "endpoint-timeout (the gateway's verdict on no answer)",
}


def codes() -> list[tuple[str, int]]:
    return sorted(
        ((name, value) for name, value in vars(Code).items() if name.isupper() and isinstance(value, int)),
        key=lambda nv: nv[1],
    )


def table() -> str:
    lines = ["| code | name | family | meaning | scenario |", "|---|---|---|---|---|"]
    for name, value in codes():
        family = FAMILIES.get(value // 100, "")
        lines.append(
            f"| {value} | `{name}` | {family} | {TITLES.get(value, '')} | {DEMANDED.get(value, '')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(table(), end="")
