"""What the console shows, read from the gateway's store (submissions, events, answers) and the relay's
(dedup records): messages with their timeline and outcome, and each territory's health. Carnet contents
(documents, event details, XML) are read only for roles that may see them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import select

from gateway.settings import current
from gateway.store import NotFound
from gateway.store import tables as t

FINAL = ("committed", "rejected", "paper_fallback", "held", "answer_refused", "cancelled", "acknowledged")
FAILURES = frozenset({"rejected", "paper_fallback", "held", "answer_refused"})


@dataclass
class Message:
    message_id: str
    tracking_id: str
    carnet_id: str
    transaction_id: str
    territory: str
    at: float
    kind: str = ""
    transaction_code: str = ""
    status: str = "submitted"
    reference: str = ""  # customs' reference (MRN) once endorsed
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def when(self) -> str:
        return stamp(self.at)


def stamp(at: float | None) -> str:
    if not at:
        return ""
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty_xml(data: bytes) -> str:
    """Indented XML for reading (parsed without entities or network, as everywhere in the gateway)."""
    parser = etree.XMLParser(
        remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return data.decode(errors="replace")
    return etree.tostring(root, pretty_print=True, encoding="unicode")


class Messages:
    """Declarations the gateway relayed (one row per submission), searchable and paged newest first."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def _enrich(self, rows: list[dict[str, Any]]) -> list[Message]:
        docs: dict[str, Any] = {}
        out = []
        for r in rows:
            m = Message(
                r["message_id"],
                r["tracking_id"],
                r["carnet_id"],
                r["transaction_id"],
                r["territory"],
                r["at"],
            )
            if m.carnet_id not in docs:
                try:
                    docs[m.carnet_id] = self.db.carnet(m.carnet_id).doc
                except NotFound:
                    docs[m.carnet_id] = None
            doc = docs[m.carnet_id]
            tx = (
                next((x for x in doc.transactions if x.transaction_id == m.transaction_id), None)
                if doc
                else None
            )
            if tx is not None:
                m.kind, m.transaction_code = tx.kind.value, tx.transaction_code or ""
            m.events = self.db.events(transaction_id=m.transaction_id)
            later = [e for e in m.events if e["at"] >= m.at - 0.001]
            for e in later:
                if e["kind"] == "submitted" and e["detail"].get("message_id") not in (None, m.message_id):
                    m.status = "superseded"
                    break
                if e["kind"] in FINAL:
                    m.status = e["kind"]
                    if e["kind"] == "committed":
                        m.reference = str(e["detail"].get("reference") or "")
            out.append(m)
        return out

    def search(
        self,
        *,
        carnet: str = "",
        q: str = "",
        territory: str = "",
        kind: str = "",
        status: str = "",
        since: dt.date | None = None,
        until: dt.date | None = None,
        before: float | None = None,
        limit: int = 25,
        scan: int = 5000,
    ) -> tuple[list[Message], float | None]:
        """One page (newest first) and the cursor of the next one (None at the end)."""
        s = t.submissions
        query = select(s).order_by(s.c.at.desc()).limit(scan)
        if carnet:
            query = query.where(s.c.carnet_id == carnet.strip())
        if territory:
            query = query.where(s.c.territory == territory.strip().upper()[:2])
        if since:
            query = query.where(s.c.at >= dt.datetime.combine(since, dt.time(), dt.UTC).timestamp())
        if until:
            query = query.where(
                s.c.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
            )
        if before is not None:
            query = query.where(s.c.at < before)
        with self.db.engine.connect() as c:
            rows = [dict(r._mapping) for r in c.execute(query)]
        needle = q.strip().upper()
        page: list[Message] = []
        for m in self._enrich_lazily(rows):
            if needle and needle not in {
                m.message_id.upper(),
                m.tracking_id.upper(),
                m.transaction_code.upper(),
                m.transaction_id.upper(),
                m.reference.upper(),
            }:
                continue
            if (kind and m.kind != kind) or (status and m.status != status):
                continue
            page.append(m)
            if len(page) > limit:
                break
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1].at if more and page else None)

    def _enrich_lazily(self, rows: list[dict[str, Any]]) -> Iterator[Message]:
        for i in range(0, len(rows), 50):
            yield from self._enrich(rows[i : i + 50])

    def get(self, message_id: str) -> Message | None:
        sub = self.db.submission(message_id=message_id)
        return self._enrich([sub])[0] if sub else None


def relay_record(engine: Any, message_id: str) -> dict[str, Any] | None:
    """The relay's dedup record of a message (outcome, code, generation, result event), if any."""
    from gateway.store.relay_tables import dedup

    try:
        with engine.connect() as c:
            row = c.execute(select(dedup).where(dedup.c.message_id == message_id)).first()
    except Exception:  # the relay's tables live elsewhere (a worker's own EATA_STORE_URL)
        return None
    return dict(row._mapping) if row else None


def answer_record(engine: Any, message_id: str) -> dict[str, Any] | None:
    with engine.connect() as c:
        row = c.execute(select(t.answers).where(t.answers.c.in_reply_to == message_id)).first()
    return dict(row._mapping) if row else None


def received_document(record: dict[str, Any] | None) -> bytes | None:
    """The signed customs answer a worker received synchronously (kept in its result event)."""
    if not record or not record.get("event"):
        return None
    try:
        event = json.loads(record["event"])
    except ValueError:
        return None
    if event.get("outcome") != "answer" or not event.get("document"):
        return None
    return base64.b64decode(event["document"])


def signature_of(message: Message, document: bytes) -> dict[str, str]:
    """Who signed ``document`` and whether the gateway believes it for the message's territory."""
    from cryptography import x509

    from gateway.adapters import registry
    from gateway.adapters.delivery import verifier
    from gateway.errors import Refusal

    out = {"signer": "", "verified": "", "detail": ""}
    try:
        root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
        cert = root.find(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate")
        if cert is not None and cert.text:
            der = base64.b64decode("".join(cert.text.split()))
            out["signer"] = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except Exception as exc:  # unreadable XML or certificate: said, not raised
        out["detail"] = f"signature not readable: {exc}"
    try:
        verifier(registry.get(message.territory)).verify(document)  # signature, path to anchors, signer
        out["verified"] = "yes"
        out["detail"] = f"signed by one of {message.territory}'s signers under its anchors"
    except Refusal as r:
        out["verified"] = "no"
        out["detail"] = f"{r.code}: {r}"
    except Exception as exc:
        out["verified"] = "no"
        out["detail"] = str(exc)
    return out


def sent_document(db: Any, message: Message) -> bytes | None:
    """The national XML of the declaration, translated again from the stored carnet (the worker signs
    it with the gateway's key before sending)."""
    from gateway.messages import declaration_for
    from gateway.translate import to_bytes

    try:
        doc = db.carnet(message.carnet_id).doc
        index = next(i for i, x in enumerate(doc.transactions) if x.transaction_id == message.transaction_id)
        declaration = declaration_for(doc, index, message.message_id)
        return to_bytes(declaration, declaration.territory)
    except Exception:
        return None


@dataclass
class TerritoryRow:
    code: str
    name: str
    endpoint: str
    transport: str
    last_success: str
    submitted: int
    failed: int
    state: str
    grace: str
    dead_letters: int | None = None

    @property
    def failure_rate(self) -> str:
        return f"{100 * self.failed / self.submitted:.0f} %" if self.submitted else "–"


def territories(db: Any, window_s: float = 86400.0, dead: dict[str, int] | None = None) -> list[TerritoryRow]:
    """Per territory: where and how it is reached, its last commit, the failure rate of the last day,
    hold or paper-fallback state and today's grace rule."""
    from gateway.adapters import registry
    from gateway.grace.policy import default_policy

    since = time.time() - window_s
    e = t.events
    with db.engine.connect() as c:
        last = dict(
            c.execute(select(e.c.territory, e.c.at).where(e.c.kind == "committed").order_by(e.c.at)).all()
        )
        recent = c.execute(
            select(e.c.territory, e.c.kind)
            .where(e.c.at >= since, e.c.territory.is_not(None))
            .order_by(e.c.id)
        ).all()
    submitted: dict[str, int] = {}
    failed: dict[str, int] = {}
    latest: dict[str, str] = {}
    for territory, kind in recent:
        if kind == "submitted":
            submitted[territory] = submitted.get(territory, 0) + 1
        elif kind in FAILURES:
            failed[territory] = failed.get(territory, 0) + 1
        if kind in FINAL:
            latest[territory] = kind
    today = dt.datetime.now(dt.UTC).date()
    policy = default_policy()
    rows = []
    for code in sorted(registry.codes()):
        adapter = registry.get(code)
        state = {"held": "holding declarations", "paper_fallback": "paper fallback"}.get(
            latest.get(code, ""), "normal"
        )
        rows.append(
            TerritoryRow(
                code,
                adapter.name,
                current().endpoint(adapter) or f"not configured (EATA_ENDPOINT_{code})",
                adapter.transport + (f" {adapter.soap_version}" if adapter.transport == "soap" else ""),
                stamp(last.get(code)),
                submitted.get(code, 0),
                failed.get(code, 0),
                state,
                policy.decide(code, today).explain(),
                (dead or {}).get(code),
            )
        )
    return rows
