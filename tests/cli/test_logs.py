"""Logging configured once (gateway.logs): JSON lines for serve/worker, readable text in a terminal, and
one naming scheme (``eata.<area>``) for every logger of ours."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway import logs
from gateway.api.hygiene import Hygiene
from gateway.serving import serving
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    buf = io.StringIO()
    yield buf
    for h in [h for h in root.handlers if h.get_name() == "eata"]:
        root.removeHandler(h)
    root.setLevel(level)


def test_serve_configuration_writes_json_lines_with_extra_fields(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EATA_LOG_FORMAT", raising=False)
    logs.configure(logs.choose(service=True, stream=io.StringIO()), logging.INFO, captured)  # not a tty
    logging.getLogger("eata.relay.worker").warning("reconnecting in %.1f s", 2.5, extra={"territory": "NO"})
    logging.getLogger("eata.api").debug("below the level")
    app = Starlette(routes=[Route("/ping", lambda _r: PlainTextResponse("pong"))])
    with serving(Hygiene(app)) as server:
        answer = httpx.get(f"{server.url}/ping", headers={"X-Correlation-ID": "abc-1"}, timeout=30)
        assert answer.status_code == 200
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    first = lines[0]
    assert first["logger"] == "eata.relay.worker" and first["level"] == "WARNING"
    assert first["message"] == "reconnecting in 2.5 s" and first["territory"] == "NO" and first["time"]
    request = next(e for e in lines if e["logger"] == "eata.api")
    assert request["message"] == "request" and request["level"] == "INFO"
    assert request["correlation_id"] == "abc-1" and request["method"] == "GET"
    assert request["path"] == "/ping" and request["status"] == 200 and request["ms"] >= 0
    assert all(e["message"] != "below the level" for e in lines)


def test_text_in_a_terminal_and_the_environment_decides_when_set(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.choose(service=True, stream=Tty()) == "text"
    assert logs.choose(service=False, stream=io.StringIO()) == "text"
    monkeypatch.setenv("EATA_LOG_FORMAT", "json")
    assert logs.choose(service=False, wanted=Settings.from_env().log_format, stream=Tty()) == "json"
    monkeypatch.setenv("EATA_LOG_FORMAT", "text")
    assert logs.choose(service=True, wanted=Settings.from_env().log_format, stream=io.StringIO()) == "text"
    monkeypatch.setenv("EATA_LOG_FORMAT", "xml")  # a typo is a start-up error, not a silent default
    with pytest.raises(ValidationError, match="log_format"):
        Settings.from_env()

    logs.configure("text", logging.INFO, captured)
    logs.configure("text", logging.INFO, captured)  # configured again: still one line per record
    logging.getLogger("eata.api").info("request", extra={"status": 200, "path": "/healthz"})
    (line,) = captured.getvalue().splitlines()
    assert re.search(r" INFO eata\.api request status=200 path=/healthz$", line), line


def test_every_logger_of_ours_is_named_eata_area() -> None:
    names = []
    for folder in ("gateway", "conformance", "devtools", "adapters"):
        for path in (ROOT / folder).rglob("*.py"):
            names += re.findall(r"getLogger\(\s*([^)]*)\)", path.read_text(encoding="utf-8"))
    # logs.py configures the root logger; backoff.py quiets pika's loggers by their names
    ours = [n for n in names if n not in ("", "name")]
    assert ours and all(re.fullmatch(r'"eata(\.[a-z_]+)+"', n) for n in ours), ours
