"""The operator console at ``/console``: server-rendered pages (Jinja2, no build step, no script from
elsewhere) for operators and, read-only, auditors.

Login with the party's API key into a signed session cookie (HttpOnly, SameSite=Strict, Secure over TLS,
path ``/console``); every form that changes something carries the session's CSRF token. Operators see
message metadata only; carnet contents (XML, event details, dead-letter bodies) only the auditor role.
"""

from gateway.console.app import ConsoleConfig, console_app

__all__ = ["ConsoleConfig", "console_app"]
