"""Routes of the operator console (mounted at ``/console`` by :func:`gateway.api.app.create_app`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gateway.console import data
from gateway.console.auth import COOKIE, PRE, ROLES, Session, Sessions, cookie_args, form, same
from gateway.console.certs import URGENT_DAYS, WARN_DAYS, inventory
from gateway.model import TransactionKind
from gateway.settings import current

log = logging.getLogger("eata.console")
HERE = Path(__file__).parent
KINDS = tuple(k.value for k in TransactionKind)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
STATUSES = ("submitted", "acknowledged", *data.FINAL[:-1], "superseded")


@dataclass
class ConsoleConfig:
    """What the console reaches beyond the service: the broker (dead letters), the keys directory
    (certificates, signature checks) and where conformance runs write their reports."""

    amqp_url: str | None = None
    keys_dir: Path | None = None
    secret: str | None = None  # signs session cookies; random per process when not given
    reports_dir: Path | None = None
    conformance_workers: int = 4
    # where relay workers keep their delivery records (their EATA_STORE_URL) when not in the gateway's own
    # database: EATA_CONSOLE_RELAY_STORES, comma-separated
    relay_stores: tuple[str, ...] = field(default_factory=lambda: current().relay_stores)


@dataclass
class Run:
    id: str
    territories: list[str]
    out_dir: Path
    started: float = field(default_factory=time.time)
    total: int = 0
    done: int = 0
    passed: int = 0
    failed: int = 0
    state: str = "running"  # running, finished, failed
    error: str = ""
    finished: float | None = None
    by: str = ""


class Runs:
    """Conformance runs started from the console, one at a time, each a ``conformance run`` process of its
    own: the runtime imports no tool package, and the runner's environment (simulator URLs, keys) stays out
    of the gateway's. The process says how far it is in JSON lines (``--events``) and writes the reports."""

    def __init__(self, root: Path, workers: int) -> None:
        self.root, self.workers = root, workers
        self.runs: dict[str, Run] = {}
        self.lock = threading.Lock()

    def running(self) -> Run | None:
        return next((r for r in self.runs.values() if r.state == "running"), None)

    def start(self, territories: list[str], by: str) -> Run:
        with self.lock:
            if self.running() is not None:
                raise RuntimeError("a conformance run is already under way")
            run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
            run = Run(run_id, sorted(territories), (self.root / run_id).resolve(), by=by)
            run.out_dir.mkdir(parents=True, exist_ok=True)
            command = [
                sys.executable, "-m", "gateway", "conformance", "run",
                "--territory", ",".join(run.territories), "--out", str(run.out_dir),
                "--workers", str(self.workers), "--no-progress", "--events",
            ]  # fmt: skip
            stderr = (run.out_dir / "run.log").open("wb")
            try:
                process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
            finally:
                stderr.close()  # the child holds its own copy
            self.runs[run_id] = run
        threading.Thread(
            target=self._follow, args=(run, process), name=f"console-conformance-{run_id}", daemon=True
        ).start()
        return run

    def _follow(self, run: Run, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not one of ours
            if "total" in event:
                run.total = int(event["total"])
            elif event.get("status"):
                run.done += 1
                if event["status"] == "passed":
                    run.passed += 1
                elif event["status"] in ("failed", "error"):
                    run.failed += 1
        code = process.wait()
        if code in (0, 1) and (run.out_dir / "report.html").is_file():  # 1: a case failed, still a report
            run.state = "finished"
        else:
            errors = (run.out_dir / "run.log").read_text(errors="replace").strip().splitlines()
            log.error("conformance run %s ended with exit code %s", run.id, code)
            run.state, run.error = "failed", (errors[-1] if errors else f"exit code {code}")[:500]
        run.finished = time.time()


def console_app(service: Any, config: ConsoleConfig | None = None) -> FastAPI:
    config = config or ConsoleConfig()
    db = service.db
    sessions = Sessions(config.secret or secrets.token_hex(32), db)
    messages = data.Messages(db)
    runs = Runs(
        config.reports_dir or Path(tempfile.mkdtemp(prefix="eata-conformance-")), config.conformance_workers
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(stamp=data.stamp, WARN_DAYS=WARN_DAYS, URGENT_DAYS=URGENT_DAYS)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.state.runs = runs

    engines: list[Any] = []

    def relay_engines() -> list[Any]:
        if not engines and config.relay_stores:
            from gateway.store.engine import make_engine

            engines.extend(make_engine(url) for url in config.relay_stores)
        return engines

    def keys() -> Path | None:
        if config.keys_dir is not None:
            return config.keys_dir
        settings = current()
        return settings.keys_dir if settings.keys_dir_set else None

    def page(
        request: Request, name: str, session: Session | None, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        resp = templates.TemplateResponse(
            request, name, {"session": session, "base": "/console", **ctx}, status_code=status
        )
        resp.headers["Content-Security-Policy"] = CSP  # no script at all; nothing from elsewhere
        return resp

    def login_redirect() -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    def forbidden(request: Request, session: Session, why: str) -> HTMLResponse:
        return page(request, "error.html", session, 403, title="Not allowed", message=why)

    async def checked(request: Request, session: Session) -> dict[str, str] | None:
        """The form, when its CSRF token is the session's (and the browser says it came from here)."""
        fields = await form(request)
        origin = request.headers.get("origin")
        if origin and origin not in (f"{request.url.scheme}://{request.url.netloc}", "null"):
            return None
        return fields if same(fields.get("csrf", ""), session.csrf) else None

    # -- login ----------------------------------------------------------------------------------
    @app.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        resp = page(request, "login.html", None, token=token)
        resp.set_cookie(PRE, token, max_age=600, **cookie_args(request))
        return resp

    @app.post("/login")
    async def login(request: Request) -> Response:
        fields = await form(request)
        if not same(fields.get("csrf", ""), request.cookies.get(PRE, "")):
            return page(
                request, "login.html", None, 400, token="", error="The form expired; load the page again."
            )
        party = db.party_by_key(fields.get("api_key", "").strip())
        if party is None or party.role not in ROLES:
            token = secrets.token_urlsafe(24)
            resp: Response = page(
                request,
                "login.html",
                None,
                403,
                token=token,
                error="That key does not belong to an operator or auditor.",
            )
            resp.set_cookie(PRE, token, max_age=600, **cookie_args(request))
            return resp
        value, _ = sessions.issue(party)
        resp = RedirectResponse("/console/messages", status_code=303)
        resp.set_cookie(COOKIE, value, max_age=8 * 3600, **cookie_args(request))
        resp.delete_cookie(PRE, path="/console", httponly=True, samesite="strict")
        log.info("console login by %s (%s)", party.id, party.role)
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = sessions.read(request)
        if session is not None and await checked(request, session) is None:
            return forbidden(request, session, "The form's CSRF token is missing or wrong.")
        resp = login_redirect()
        resp.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
        return resp

    @app.get("/")
    def home(request: Request) -> Response:
        return RedirectResponse("/console/messages", status_code=303)

    # -- messages -------------------------------------------------------------------------------
    @app.get("/messages")
    def message_list(request: Request) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        p = request.query_params
        filters = {
            k: p.get(k, "").strip()[:80]
            for k in ("carnet", "q", "territory", "kind", "status", "since", "until")
        }

        def day(v: str) -> dt.date | None:
            try:
                return dt.date.fromisoformat(v) if v else None
            except ValueError:
                return None

        try:
            before = float(p["before"]) if p.get("before") else None
        except ValueError:
            before = None
        rows, cursor = messages.search(
            carnet=filters["carnet"],
            q=filters["q"],
            territory=filters["territory"],
            kind=filters["kind"],
            status=filters["status"],
            since=day(filters["since"]),
            until=day(filters["until"]),
            before=before,
        )
        nxt = None
        if cursor is not None:
            url = request.url.include_query_params(before=repr(cursor))
            nxt = f"{url.path}?{url.query}"
        return page(
            request,
            "messages.html",
            session,
            rows=rows,
            filters=filters,
            next=nxt,
            kinds=KINDS,
            statuses=STATUSES,
            territories=_codes(),
        )

    @app.get("/messages/{message_id}")
    def message(request: Request, message_id: str) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        m = messages.get(message_id[:64])
        if m is None:
            return page(
                request,
                "error.html",
                session,
                404,
                title="No such message",
                message=f"No message {message_id}.",
            )
        record = next(
            (r for e in (db.engine, *relay_engines()) if (r := data.relay_record(e, m.message_id))), None
        )
        answer = data.answer_record(db.engine, m.message_id)
        received = data.received_document(record)
        signature = data.signature_of(m, received) if received else None
        sent = data.sent_document(db, m) if session.auditor else None
        return page(
            request,
            "message.html",
            session,
            m=m,
            record=record,
            answer=answer,
            signature=signature,
            received_xml=data.pretty_xml(received) if received and session.auditor else None,
            has_received=received is not None,
            sent_xml=data.pretty_xml(sent) if sent else None,
        )

    # -- dead letters -----------------------------------------------------------------------------
    def dlq_ops() -> ModuleType:
        from gateway.relay import dlq

        return dlq

    @app.get("/dead-letters")
    def dead_letters(request: Request) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        territory = request.query_params.get("territory", "").upper()[:2]
        letters, error, depths = [], "", {}
        if not config.amqp_url:
            error = "No broker is configured (EATA_AMQP_URL): dead letters live there."
        else:
            try:
                depths = _dead_depths(config.amqp_url)
                if territory:
                    letters = dlq_ops().list_letters(config.amqp_url, territory, limit=200)
            except Exception as exc:
                error = f"The broker could not be read: {exc}"
        return page(
            request,
            "dead_letters.html",
            session,
            territory=territory,
            letters=letters,
            error=error,
            depths=depths,
            territories=_codes(),
            notice=request.query_params.get("notice", "")[:200],
        )

    @app.get("/dead-letters/{territory}/{message_id}")
    def dead_letter(request: Request, territory: str, message_id: str) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        letter = (
            dlq_ops().show(config.amqp_url, territory.upper()[:2], message_id) if config.amqp_url else None
        )
        if letter is None:
            return page(
                request,
                "error.html",
                session,
                404,
                title="No such dead letter",
                message=f"No dead letter {message_id} for {territory}.",
            )
        return page(request, "dead_letter.html", session, territory=territory.upper()[:2], letter=letter)

    @app.post("/dead-letters/{territory}/replay")
    async def replay(request: Request, territory: str) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        fields = await checked(request, session)
        if fields is None:
            return forbidden(request, session, "The form's CSRF token is missing or wrong.")
        if not session.operator:
            return forbidden(request, session, "Only operators replay dead letters; auditors read.")
        code = territory.upper()[:2]
        ids = {fields["message_id"]} if fields.get("message_id") else None
        moved = dlq_ops().replay(config.amqp_url, code, ids) if config.amqp_url else 0
        log.info("console: %s replayed %d dead letters of %s", session.party.id, moved, code)
        return RedirectResponse(
            f"/console/dead-letters?territory={code}&notice=replayed+{moved}", status_code=303
        )

    @app.get("/dead-letters/{territory}/purge")
    def purge_confirm(request: Request, territory: str) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        code = territory.upper()[:2]
        count = dlq_ops().depth(config.amqp_url, code) if config.amqp_url else 0
        return page(request, "purge.html", session, territory=code, count=count)

    @app.post("/dead-letters/{territory}/purge")
    async def purge(request: Request, territory: str) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        fields = await checked(request, session)
        if fields is None:
            return forbidden(request, session, "The form's CSRF token is missing or wrong.")
        if not session.operator:
            return forbidden(request, session, "Only operators purge dead letters; auditors read.")
        code = territory.upper()[:2]
        if fields.get("confirm", "").strip().upper() != code:
            return page(
                request,
                "purge.html",
                session,
                400,
                territory=code,
                count=None,
                error=f"Type {code} to confirm.",
            )
        gone = dlq_ops().purge(config.amqp_url, code) if config.amqp_url else 0
        log.info("console: %s purged %d dead letters of %s", session.party.id, gone, code)
        return RedirectResponse(
            f"/console/dead-letters?territory={code}&notice=purged+{gone}", status_code=303
        )

    # -- territories and certificates ------------------------------------------------------------------
    @app.get("/territories")
    def territory_list(request: Request) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        dead: dict[str, int] = {}
        if config.amqp_url:
            try:
                dead = _dead_depths(config.amqp_url)
            except Exception:
                dead = {}
        return page(request, "territories.html", session, rows=data.territories(db, dead=dead))

    @app.get("/certificates")
    def certificates(request: Request) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        certs = sorted(inventory(keys()), key=lambda c: (c.days_left, c.territory, c.subject))
        return page(request, "certificates.html", session, certs=certs, keys=keys())

    # -- conformance -------------------------------------------------------------------------------
    @app.get("/conformance")
    def conformance(request: Request) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        listed = sorted(runs.runs.values(), key=lambda r: r.started, reverse=True)
        return page(
            request,
            "conformance.html",
            session,
            runs=listed,
            territories=_codes(),
            error=request.query_params.get("error", "")[:200],
        )

    @app.post("/conformance")
    async def conformance_start(request: Request) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        raw = (await request.body()).decode(errors="replace")
        from urllib.parse import parse_qs

        parsed = parse_qs(raw)
        if not same((parsed.get("csrf") or [""])[0], session.csrf):
            return forbidden(request, session, "The form's CSRF token is missing or wrong.")
        if not session.operator:
            return forbidden(request, session, "Only operators start conformance runs.")
        chosen = [c for c in parsed.get("territory", []) if c in _codes()]
        if not chosen:
            return RedirectResponse(
                "/console/conformance?error=choose+at+least+one+territory", status_code=303
            )
        try:
            run = runs.start(chosen, session.party.id)
        except RuntimeError as exc:
            return RedirectResponse(f"/console/conformance?error={exc}".replace(" ", "+"), status_code=303)
        return RedirectResponse(f"/console/conformance/{run.id}", status_code=303)

    @app.get("/conformance/{run_id}")
    def conformance_run(request: Request, run_id: str) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        run = runs.runs.get(run_id)
        if run is None:
            return page(request, "error.html", session, 404, title="No such run", message=f"No run {run_id}.")
        return page(request, "run.html", session, run=run)

    @app.get("/conformance/{run_id}/report/{name:path}")
    def conformance_file(request: Request, run_id: str, name: str) -> Response:
        session = sessions.read(request)
        if session is None:
            return login_redirect()
        run = runs.runs.get(run_id)
        if run is None:
            return page(request, "error.html", session, 404, title="No such run", message=f"No run {run_id}.")
        root = run.out_dir.resolve()
        path = (root / (name or "report.html")).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return page(request, "error.html", session, 404, title="No such file", message=name)
        return FileResponse(path)

    return app


def _codes() -> list[str]:
    from gateway.adapters import registry

    return sorted(registry.codes())


def _dead_depths(amqp_url: str) -> dict[str, int]:
    from gateway.relay.depths import queue_depths

    return {
        d.territory: d.messages
        for d in queue_depths(amqp_url, _codes())
        if d.role == "dead" and d.messages is not None
    }
