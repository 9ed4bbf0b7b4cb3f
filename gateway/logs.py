"""Logging, configured once per process by the command that starts it (``configure``).

- **Names**: every logger of ours is ``eata.<area>`` (``eata.api``, ``eata.relay.worker``, ``eata.chain``, …),
  so ``eata`` is the one switch for all of them; third-party loggers keep their own names.
- **JSON lines** for the long-running parts (``serve``, ``worker``): one object per line with ``time``,
  ``level``, ``logger``, ``message`` and whatever the call passed in ``extra=`` (e.g. the request line's
  ``correlation_id``, ``method``, ``path``, ``status``, ``ms``), made by python-json-logger.
- **Readable text** in a terminal and for the other commands: ``time level logger message key=value …``.

``EATA_LOG_FORMAT=json`` or ``text`` (``Settings.log_format``, passed in by the command) overrides the choice.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Literal

from pythonjsonlogger.json import JsonFormatter

Format = Literal["json", "text"]

# attributes every LogRecord has: whatever else a record carries came from ``extra=``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class TextFormatter(logging.Formatter):
    """``2026-12-01 20:07:39,123 INFO eata.api request method=GET path=/healthz status=200``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # before any traceback
        line = super().formatMessage(record)
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return line


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
        json_ensure_ascii=False,
    )


def choose(service: bool, wanted: str = "", stream: IO[str] | None = None) -> Format:
    """JSON for a long-running part (``service``) unless it writes to a terminal; text otherwise;
    ``wanted`` (the settings' ``log_format``) decides when set."""
    if wanted in ("json", "text"):
        return "json" if wanted == "json" else "text"
    stream = stream or sys.stderr
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return "json" if service and not tty else "text"


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test runner may swap it meanwhile)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure(
    format: Format = "text", level: int | str = logging.INFO, stream: IO[str] | None = None
) -> None:
    """Send every log record to ``stream`` (default: stderr) in ``format``, at ``level`` and above. Calling
    it again replaces the handler it installed before, so lines are never doubled."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(json_formatter() if format == "json" else TextFormatter())
    handler.set_name("eata")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "eata"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
