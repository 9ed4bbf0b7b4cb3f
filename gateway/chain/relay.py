"""The guarantee chain relay: signed chain messages on their own exchange, one quorum queue per party.

Issuing associations, guaranteeing associations, the chain itself and customs (for claims) are *parties*
with an id such as ``NO-OCC`` or ``customs-CH``. A message to party P is published on the topic exchange
``eata.chain`` with routing key ``P.<kind>`` and lands in P's quorum queue ``eata.chain.P``. Every message
is signed (XML-DSig, enveloped) with the sender's key; P's consumer verifies it against the chain's trust
store, checks that the signer *is* the sender, hands it to a handler and answers with a signed ``ack``
(InReplyTo = the original MessageID). Sending goes through the outbox and confirmed publishing
(``gateway.chain.sending``), and is recorded in ``chain_sent`` until the ack arrives, so ``pending()``
shows what the chain still owes us. Both sides work in batches: ``send_many`` records N notices in one
transaction and waits once for all their confirms; a consumer decides the deliveries of one round together
and acks them to the broker only after their records (with the signed acks) are committed and the acks
confirmed.

Idempotence: the receiver keeps its signed ack per MessageID; a re-sent (or redelivered) message gets the
same ack bytes back and its handler does not run again. A ``batched`` handler (the life-cycle one) writes
in the transaction that records the message, so a crash leaves both or neither. Other handlers (claims)
write through their own transactions; the follow-ups they send carry ids derived from the incoming
MessageID, so a crash between "effect" and "ack" repeats nothing downstream.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from pika.spec import Basic

from gateway.chain.message import ChainKind, build, read
from gateway.chain.sending import ChainSender
from gateway.chain.store import ChainStore, ReceivedBatch, SentRow
from gateway.chain.tx import ChainTx
from gateway.codec import without_signature
from gateway.errors import Code, Refusal, refuse
from gateway.relay.connect import connect, parameters
from gateway.relay.envelope import H_CODE, H_REASON, Envelope
from gateway.relay.publisher import Publisher
from gateway.relay.store import Store
from gateway.relay.topology import Topology
from gateway.signing import Signer, SigningKey, TrustStore, Verifier, load_signing_key

log = logging.getLogger("eata.chain")

CHAIN = "eata.chain"
H_POINTER = "x-eata-pointer"
_PARTY = re.compile(r"^[A-Za-z0-9-]{1,64}$")  # dot-free: it is a word of the routing key
_CLAIMED_ID = re.compile(rb"<(?:\w+:)?MessageID>([A-Za-z0-9.\-]{1,64})</")


def chain_queue(party: str) -> str:
    return f"eata.chain.{party}"


def chain_dead_queue(party: str) -> str:
    return f"eata.chain.dead.{party}"


def derive_id(message_id: str, tag: str) -> str:
    """A follow-up's MessageID, the same every time for the same original (idempotent re-sends)."""
    return hashlib.sha256(f"{message_id}:{tag}".encode()).hexdigest()[:32]


def check_party(party: str) -> str:
    if not _PARTY.match(party or ""):
        raise refuse(
            Code.PATTERN, "/To", f"{party!r} is not a usable party id (letters, digits and '-', up to 64)"
        )
    return party


def declare(
    connection: pika.BlockingConnection, parties: Iterable[str], *, quorum: bool | None = None
) -> None:
    """The chain exchange and, per party, its quorum work queue and its dead-letter queue (idempotent)."""
    args = Topology(quorum=quorum).queue_args(connection)
    ch = connection.channel()
    try:
        ch.exchange_declare(CHAIN, "topic", durable=True)
        for party in parties:
            check_party(party)
            ch.queue_declare(chain_queue(party), durable=True, arguments=args)
            ch.queue_bind(chain_queue(party), CHAIN, routing_key=f"{party}.*")
            ch.queue_declare(chain_dead_queue(party), durable=True, arguments=args)
    finally:
        if ch.is_open:
            ch.close()


class KeyRing:
    """Each party's signing key (``<party>.key.pem``/``.cert.pem``, lower-case) and the chain's trust store.

    A party's certificate must name it (CN = party id, case-insensitive): a valid signature by another
    association does not let it speak for this one.
    """

    def __init__(self, keys_dir: str | Path, trust: TrustStore | None = None) -> None:
        self.keys_dir = Path(keys_dir)
        self.trust = trust or TrustStore.from_paths(self.keys_dir / "ca.cert.pem")
        self.verifier = Verifier(self.trust)
        self._signers: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def signer(self, party: str) -> Signer:
        with self._lock:
            if party not in self._signers:
                name = party.lower()
                key: SigningKey = load_signing_key(
                    self.keys_dir / f"{name}.key.pem", self.keys_dir / f"{name}.cert.pem"
                )
                self._signers[party] = Signer(key)
            return self._signers[party]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A verified chain message, as handed to a handler."""

    party: str  # who received it (the handler acts for this party)
    message: Mapping[str, Any]
    relay: ChainRelay
    signer_subject: str
    tx: ChainTx | None = None  # the batch's transaction, for a handler marked ``batched``

    @property
    def kind(self) -> ChainKind:
        return ChainKind(self.message["Kind"])

    @property
    def message_id(self) -> str:
        return str(self.message["MessageID"])

    @property
    def carnet_id(self) -> str:
        return str(self.message["CarnetID"])

    @property
    def sender(self) -> str:
        return str(self.message["From"])

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.message["Payload"])


@dataclass(frozen=True, slots=True)
class Notice:
    """One chain message to send (:meth:`ChainRelay.send_many`)."""

    kind: ChainKind
    carnet_id: str
    sender: str
    to: str
    payload: Mapping[str, Any]
    message_id: str | None = None


def _sent_values(mid: str, kind: str, carnet_id: str, sender: str, to: str, body: bytes) -> dict[str, Any]:
    return {
        "message_id": mid,
        "kind": kind,
        "carnet_id": carnet_id,
        "sender": sender,
        "recipient": to,
        "body": body,
    }


def _envelope(row: SentRow) -> Envelope:
    return Envelope(
        kind=row.kind,
        territory=row.recipient,
        carnet_id=row.carnet_id,
        body=row.body,
        message_id=row.message_id,
        content_type="application/xml",
    )


# A handler returns extra ack payload (or None), or raises Refusal for a signed "refused" ack.
Handler = Callable[[Incoming], Mapping[str, Any] | None]

_BATCHED: set[Handler] = set()
TX_CHUNK = 32  # messages decided per write transaction (their signed acks are made inside it)


_H = TypeVar("_H", bound=Handler)


def batched(handler: _H) -> _H:
    """Mark a handler whose effects are writes to the chain's tables through ``inc.tx``, the consumer
    batch's transaction: they commit together with the message's dedup record and signed ack (a crash
    leaves both or neither; a refusal or crash undoes the handler's writes, a savepoint each). Such a
    handler must not write anywhere else nor send: the transaction holds SQLite's one writer until the
    batch is decided. Other handlers (claims, which send follow-ups) run between the batch's transactions
    and write through their own, as before."""
    _BATCHED.add(handler)
    return handler


@dataclass(frozen=True, slots=True)
class Processed:
    outcome: str  # accepted | refused | duplicate | ack | invalid
    ack: bytes | None = None
    ack_id: str | None = None
    to: str | None = None
    refusal: Refusal | None = None
    carnet_id: str = "-"


class ChainRelay:
    """Send, re-send and track chain messages; make consumers. One per process, thread-safe."""

    def __init__(
        self, url: str, store: Store | str, keys: KeyRing | str | Path, *, quorum: bool | None = None
    ) -> None:
        self.url = url
        self.store = store if isinstance(store, Store) else Store(store)
        self.chain = ChainStore(self.store)
        self.keys = keys if isinstance(keys, KeyRing) else KeyRing(keys)
        self.quorum = quorum
        self.publisher = Publisher(url, self.store)  # the outbox's drainer
        self.sender = ChainSender(url, self.store, self.publisher, CHAIN)
        self._declared: set[str] = set()
        self._declare_lock = threading.Lock()

    # -- topology --------------------------------------------------------------------------------
    def declare(self, parties: Iterable[str]) -> None:
        todo = [p for p in parties if p not in self._declared]
        if not todo:
            return
        with self._declare_lock:
            conn = connect(self.url)
            try:
                declare(conn, todo, quorum=self.quorum)
            finally:
                conn.close()
            self._declared.update(todo)

    # -- signing ---------------------------------------------------------------------------------
    def seal(
        self,
        kind: ChainKind,
        carnet_id: str,
        sender: str,
        to: str,
        payload: Mapping[str, Any],
        *,
        message_id: str | None = None,
        in_reply_to: str | None = None,
    ) -> tuple[str, bytes]:
        """Build (XSD-valid) and sign a chain message with the sender's key: ``(MessageID, bytes)``."""
        check_party(sender)
        check_party(to)
        root = build(
            kind, carnet_id, sender, to, dict(payload), in_reply_to=in_reply_to, message_id=message_id
        )
        mid = root.findtext("{urn:eata:chain:1}MessageID") or ""
        # canonical bytes with the signature spliced in: the receiver verifies them from the bytes
        return mid, self.keys.signer(sender).sign(root)

    def open(self, data: bytes) -> tuple[dict[str, Any], str]:
        """Verify and read signed bytes: ``(message, signer subject)``; refuses with the eTIR-style code."""
        verified = self.keys.verifier.verify(data)  # 110/111 hostile or huge, 120-123 signature problems
        try:
            msg = read(without_signature(verified.signed_root))  # 109 schema
        except (ValueError, UnicodeDecodeError) as exc:  # a signed but unreadable payload
            raise refuse(
                Code.BAD_VALUE, "/ChainMessage/Payload", f"the payload is not base64-encoded JSON ({exc})"
            ) from None
        if not isinstance(msg["Payload"], dict):
            raise refuse(Code.BAD_VALUE, "/ChainMessage/Payload", "the payload must be a JSON object")
        cn = _common_name(verified.signer_certificate)
        # the TEST PKI marks its certificates "name (TEST)"; the party is the name before the remark
        if cn.split(" (", 1)[0].strip().lower() != str(msg["From"]).lower():
            raise refuse(
                Code.NOT_AUTHORISED,
                "/ChainMessage/From",
                f"the message claims to come from {msg['From']} but is signed by {cn}",
            )
        return msg, verified.signer_subject

    # -- sending ---------------------------------------------------------------------------------
    def send(
        self,
        kind: ChainKind,
        carnet_id: str,
        sender: str,
        to: str,
        payload: Mapping[str, Any],
        *,
        message_id: str | None = None,
    ) -> SentRow:
        """Sign, record (for ack tracking) and publish with confirms: :meth:`send_many` of one."""
        return self.send_many([Notice(kind, carnet_id, sender, to, payload, message_id)])[0]

    def send_many(self, notices: Sequence[Notice]) -> list[SentRow]:
        """Sign each notice, record them all (chain_sent rows and their outbox rows in one transaction),
        then publish them pipelined with one wait for every confirm.

        Raises :class:`~gateway.relay.publisher.PublishError` if the broker did not confirm some: those
        rows stay in the outbox, which the drainer (``Publisher.drain``) sends again with the same bytes and
        MessageID, and the receiver dedupes, so an accepted notice is neither lost nor handled twice. A
        message id already recorded is re-sent with its first bytes, so a handler repeating itself after a
        crash repeats nothing."""
        if not notices:
            return []
        known = self.chain.sent_rows_in([n.message_id for n in notices if n.message_id is not None])
        rows: list[dict[str, Any]] = []
        for n in notices:
            if n.message_id is not None and (row := known.get(n.message_id)) is not None:
                rows.append(
                    _sent_values(row.message_id, row.kind, row.carnet_id, row.sender, row.recipient, row.body)
                )
                continue
            mid, body = self.seal(n.kind, n.carnet_id, n.sender, n.to, n.payload, message_id=n.message_id)
            rows.append(_sent_values(mid, n.kind.value, n.carnet_id, n.sender, n.to, body))
        self.declare({r["recipient"] for r in rows})
        with self.store.begin() as conn:
            sent = self.chain.record_sent_many(conn, rows)  # a racing copy's first bytes win
            envs = [_envelope(r) for r in sent]
            ids = self.sender.put(conn, envs)
        self.sender.send_put(ids, envs)
        return sent

    def resend(self, message_id: str) -> SentRow:
        """Publish an unacknowledged message again, same bytes and MessageID (the receiver dedupes)."""
        row = self.chain.sent_row(message_id)
        if row is None:
            raise refuse(
                Code.CARNET_NOT_FOUND, "/message_id", f"no chain message {message_id} was sent from here"
            )
        self.chain.count_attempt(message_id)
        self._publish(row.kind, row.recipient, row.carnet_id, row.message_id, row.body)
        return row

    def pending(self, older_than: float = 0.0, sender: str | None = None) -> list[SentRow]:
        return self.chain.pending(older_than, sender)

    def _publish(self, kind: str, to: str, carnet_id: str, message_id: str, body: bytes) -> None:
        self.declare([to])
        env = Envelope(
            kind=kind,
            territory=to,
            carnet_id=carnet_id,
            body=body,
            message_id=message_id,
            content_type="application/xml",
        )
        with self.store.begin() as conn:  # outbox first; raises PublishError if unconfirmed
            ids = self.sender.put(conn, [env])
        self.sender.send_put(ids, [env])

    def publish_acks(self, results: Iterable[Processed]) -> None:
        """Publish signed acks in one confirmed, pipelined batch (no outbox: each is recorded with the
        message it answers, whose delivery stays unacked until the ack is confirmed)."""
        envs = [
            Envelope(
                kind=ChainKind.ACK.value,
                territory=r.to,
                carnet_id=r.carnet_id,
                body=r.ack,
                message_id=r.ack_id,
                content_type="application/xml",
            )
            for r in results
            if r.ack is not None and r.to is not None and r.ack_id is not None
        ]
        if envs:
            self.declare({e.territory for e in envs})
            self.sender.send(envs)

    # -- receiving ---------------------------------------------------------------------------------
    def consumer(self, party: str, handler: Handler | None = None, **kw: Any) -> ChainConsumer:
        return ChainConsumer(self, party, handler, **kw)

    def close(self) -> None:
        self.sender.close()
        self.publisher.close()
        self.store.dispose()

    def __enter__(self) -> ChainRelay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _common_name(cert: Any) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


@batched
def record_lifecycle(inc: Incoming) -> Mapping[str, Any]:
    """Default handler for carnet_issued/amended/returned/replaced/closed: the chain's view of the carnet."""
    status = inc.kind.value.removeprefix("carnet_")

    def check(current: str | None) -> None:
        if current in ("closed", "replaced") and status != current:
            # Annex A Art. 13/14: a closed or replaced carnet takes no further life-cycle change
            raise refuse(
                Code.CARNET_CLOSED,
                "/ChainMessage/Kind",
                f"carnet {inc.carnet_id} is already {current}; it cannot be {status}",
                "Annex A Art. 14",
            )
        if status != "issued" and current is None:
            raise refuse(
                Code.CARNET_NOT_FOUND,
                "/ChainMessage/CarnetID",
                f"carnet {inc.carnet_id} was never notified as issued to {inc.party}",
            )

    inc.relay.chain.change_carnet(
        inc.party, inc.carnet_id, status, inc.payload, inc.message_id, check, inc.tx
    )
    return {"carnet_status": status}


LIFECYCLE = (
    ChainKind.CARNET_ISSUED,
    ChainKind.CARNET_AMENDED,
    ChainKind.CARNET_RETURNED,
    ChainKind.CARNET_REPLACED,
    ChainKind.CARNET_CLOSED,
)


class Dispatch:
    """One handler per kind (what :func:`dispatch` returns); knows which of them are ``batched``."""

    def __init__(self, table: Mapping[ChainKind, Handler]) -> None:
        self.table = dict(table)

    def __call__(self, inc: Incoming) -> Mapping[str, Any] | None:
        fn = self.table.get(inc.kind)
        if fn is None:
            raise refuse(
                Code.BAD_VALUE, "/ChainMessage/Kind", f"{inc.party} does not handle {inc.kind.value} messages"
            )
        return fn(inc)

    def joins_batch(self, kind: str) -> bool:
        fn = self.table.get(ChainKind(kind)) if kind in _KINDS else None
        return fn is not None and fn in _BATCHED


_KINDS = frozenset(k.value for k in ChainKind)


def dispatch(handlers: Mapping[ChainKind, Handler]) -> Dispatch:
    """One handler per kind; the life-cycle kinds default to :func:`record_lifecycle`."""
    table: dict[ChainKind, Handler] = dict.fromkeys(LIFECYCLE, record_lifecycle)
    table.update(handlers)
    return Dispatch(table)


def joins_batch(handler: Handler, kind: str) -> bool:
    """Whether ``handler`` works in the consumer batch's transaction for a message of ``kind``."""
    if isinstance(handler, Dispatch):
        return handler.joins_batch(kind)
    return handler in _BATCHED


@dataclass
class ChainConsumer:
    """Consumes one party's queue in order (a single consumer keeps the carnet's messages in sequence)."""

    relay: ChainRelay
    party: str
    handler: Handler | None = None
    prefetch: int = 256  # deliveries in flight
    batch_max: int = 64  # a round's deliveries are decided, answered and acked this many at a time
    reconnect_delay: float = 1.0
    max_attempts: int = 5  # handler crashes (not refusals) before the message goes to the dead queue
    stats: dict[str, int] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        check_party(self.party)
        self.handler = self.handler or dispatch({})

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    # -- the decision, without the broker (tests and the CLI call it too) ---------------------------
    def process(self, body: bytes) -> Processed:
        """Decide one message: :meth:`process_many` of one (a handler's crash is raised)."""
        result = self.process_many([body])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def process_many(self, bodies: Sequence[bytes]) -> list[Processed | Exception]:
        """Decide a batch of deliveries, in order.

        Each is verified; the acks among them are recorded in one transaction. The other messages are
        handled under the batch's handling locks (a copy being handled elsewhere waits, then finds the
        first copy's ack): the handler runs for each message not handled before, its signed ack is made,
        and all of them are recorded with their acks in one transaction before any is acked to the broker,
        so a redelivered or re-sent copy gets the same ack bytes back and its handler does not run again.
        A handler's crash is that message's result (the caller requeues it), not the batch's."""
        out: list[Processed | Exception | None] = [None] * len(bodies)
        acks: list[tuple[int, dict[str, Any]]] = []
        work: list[tuple[int, dict[str, Any], str]] = []
        for i, body in enumerate(bodies):
            try:
                msg, subject = self.relay.open(body)
                if msg["To"] != self.party:
                    raise refuse(
                        Code.NOT_AUTHORISED,
                        "/ChainMessage/To",
                        f"the message is for {msg['To']}, not {self.party}",
                    )
            except Refusal as r:
                found = _CLAIMED_ID.search(body[:4096])
                out[i] = self._invalid(found.group(1).decode() if found else None, r)
                continue
            if msg["Kind"] == ChainKind.ACK.value:
                acks.append((i, msg))
            else:
                work.append((i, msg, subject))
        if acks:
            self._record_acks(acks, out)
        if work:
            ids = [str(m["MessageID"]) for _, m, _ in work]
            with (
                self.relay.chain.handling_many(self.party, ids),
                self.relay.chain.receiving(self.party, ids) as batch,
            ):
                self._handle_many(work, out, batch)
        return [r if r is not None else Processed("invalid") for r in out]

    def _invalid(self, message_id: str | None, r: Refusal) -> Processed:
        p = r.problems[0]
        self.relay.chain.record_refused(self.party, message_id, p.code, p.pointer, p.message)
        return Processed("invalid", refusal=r)

    def _record_acks(
        self, acks: list[tuple[int, dict[str, Any]]], out: list[Processed | Exception | None]
    ) -> None:
        rows = []
        for _, msg in acks:
            payload = msg["Payload"]
            problems = payload.get("problems") or []
            code = problems[0].get("code") if problems else None
            detail = "; ".join(str(p.get("message")) for p in problems) or None
            rows.append((str(msg.get("InReplyTo")), str(payload.get("status")), code, detail, msg["From"]))
        for (i, msg), known in zip(acks, self.relay.chain.record_acks(rows), strict=True):
            if known:
                out[i] = Processed("ack")
                continue
            r = refuse(
                Code.NOT_AUTHORISED,
                "/ChainMessage/InReplyTo",
                f"{msg['From']} acknowledges {msg.get('InReplyTo')}, which was never sent to it from here",
            )
            out[i] = self._invalid(str(msg["MessageID"]), r)

    def _handle_many(
        self,
        work: list[tuple[int, dict[str, Any], str]],
        out: list[Processed | Exception | None],
        batch: ReceivedBatch,
    ) -> None:
        assert self.handler is not None
        handler = self.handler
        fresh: dict[str, tuple[int, str, bytes, str]] = {}  # handled here: (index, status, ack, ack id)
        batch.tx()  # the first transaction; the batch's ids handled before are in batch.prior
        for i, msg, subject in work:
            mid = str(msg["MessageID"])
            if mid in batch.prior or mid in fresh:
                continue  # handled before, or earlier in this batch: a duplicate
            try:
                if joins_batch(handler, msg["Kind"]):
                    tx = batch.tx()
                    if mid in batch.prior:
                        continue  # recorded meanwhile (the transaction began just now)
                    with tx.savepoint():
                        extra = handler(Incoming(self.party, msg, self.relay, subject, tx)) or {}
                else:
                    batch.release()  # this handler writes through its own transactions
                    extra = handler(Incoming(self.party, msg, self.relay, subject)) or {}
                status, code, payload = "accepted", None, {**extra, "status": "accepted"}
            except Refusal as r:
                status, code = "refused", r.code
                payload = {"status": "refused", "problems": [p.as_dict() for p in r.problems]}
            except Exception as exc:
                out[i] = exc
                continue
            ack_id, ack = self.relay.seal(
                ChainKind.ACK,
                msg["CarnetID"],
                self.party,
                msg["From"],
                payload,
                message_id=derive_id(mid, "ack"),
                in_reply_to=mid,
            )
            batch.add(msg, status, code, ack)
            fresh[mid] = (i, status, ack, ack_id)
            if batch.uncommitted >= TX_CHUNK:
                batch.commit()  # SQLite has one writer: the sender and the other consumers wait on it
        batch.commit()
        for i, msg, _ in work:
            if out[i] is not None:
                continue  # the handler crashed
            mid = str(msg["MessageID"])
            first = fresh.get(mid)
            signed: bytes | None  # a duplicate handled before may have no ack stored
            if first is not None and first[0] == i:
                status, signed = first[1], batch.stored.get(mid) or first[2]
            elif mid in batch.prior:
                status, signed = "duplicate", batch.prior[mid][1]
            else:
                status, signed = "duplicate", batch.stored.get(mid) or fresh[mid][2]
            ack_id = fresh[mid][3] if mid in fresh else derive_id(mid, "ack")
            out[i] = Processed(status, signed, ack_id, msg["From"], carnet_id=msg["CarnetID"])

    # -- the loop -------------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        self.relay.declare([self.party])
        params = parameters(self.relay.url, heartbeat=30)  # each node of the setting, first reachable
        while not self._stopping.is_set():
            try:
                conn = connect(params)
                try:
                    self._consume(conn)
                finally:
                    with contextlib.suppress(Exception):
                        conn.close()
            except AMQPError as exc:
                if self._stopping.is_set():
                    return
                log.warning("chain consumer %s lost the broker (%s); reconnecting", self.party, exc)
                self._count("reconnects")
                time.sleep(self.reconnect_delay)

    def _consume(self, conn: pika.BlockingConnection) -> None:
        ch = conn.channel()
        ch.basic_qos(prefetch_count=self.prefetch)
        dead = conn.channel()
        dead.confirm_delivery()
        # The deliveries that arrived together are decided as one batch (one transaction for their
        # records), their acks go out in one pipelined, confirmed batch, and only then are the deliveries
        # acked (one multiple ack). Each ack is recorded before it is sent, so a crash in between means a
        # redelivery that re-sends the stored ack (no second effect).
        batch: list[tuple[int, pika.BasicProperties, bytes]] = []

        def on_message(
            _c: BlockingChannel, m: Basic.Deliver, props: pika.BasicProperties, body: bytes
        ) -> None:
            batch.append((m.delivery_tag, props, bytes(body)))

        tag = ch.basic_consume(chain_queue(self.party), on_message)
        while not self._stopping.is_set():
            conn.process_data_events(time_limit=0.2)
            # a round's deliveries span several socket reads: take those already here into the batch (its
            # transaction, its confirm wait and its basic.ack cost about as much as a dozen messages)
            while 0 < len(batch) < self.prefetch:
                before = len(batch)
                conn.process_data_events(time_limit=0)
                if len(batch) == before:
                    break
            # in slices, so the first acks leave (and the sender's consumer starts on them) while the
            # rest of a big round is still being decided
            for s in range(0, len(batch), self.batch_max):
                self._run_batch(ch, dead, batch[s : s + self.batch_max])
            batch.clear()
        ch.basic_cancel(tag)
        conn.process_data_events(time_limit=0)
        for s in range(0, len(batch), self.batch_max):
            self._run_batch(ch, dead, batch[s : s + self.batch_max])

    def _run_batch(
        self, ch: BlockingChannel, dead: BlockingChannel, batch: list[tuple[int, pika.BasicProperties, bytes]]
    ) -> None:
        try:
            results = self.process_many([body for _, _, body in batch])
        except Exception:
            self._count("errors")
            log.exception(
                "chain consumer %s could not finish %d messages; requeueing", self.party, len(batch)
            )
            for delivery_tag, _, _ in batch:
                ch.basic_nack(delivery_tag, requeue=True)
            time.sleep(self.reconnect_delay)
            return
        done: list[tuple[int, Processed, pika.BasicProperties, bytes]] = []
        retry = False
        for (delivery_tag, props, body), result in zip(batch, results, strict=True):
            if not isinstance(result, Exception):
                self._count(result.outcome)
                done.append((delivery_tag, result, props, body))
                continue
            self._count("errors")
            # quorum queues count redeliveries; a message that keeps failing is parked, not looped on
            tries = int((props.headers or {}).get("x-delivery-count", 0)) + 1
            if tries < self.max_attempts:
                log.error(
                    "chain consumer %s could not finish a message; requeueing it",
                    self.party,
                    exc_info=result,
                )
                ch.basic_nack(delivery_tag, requeue=True)
                retry = True
                continue
            log.error("chain consumer %s gives up on a message after %d attempts", self.party, tries)
            gave_up = refuse(
                Code.INTERNAL, "/", f"gave up after {tries} attempts: {type(result).__name__}: {result}"
            )
            self._count("dead")
            done.append((delivery_tag, Processed("invalid", refusal=gave_up), props, body))
        if done:
            self._finish(ch, dead, done)
        if retry:
            time.sleep(self.reconnect_delay)

    def _finish(
        self,
        ch: BlockingChannel,
        dead: BlockingChannel,
        batch: list[tuple[int, Processed, pika.BasicProperties, bytes]],
    ) -> None:
        acks = [r for _, r, _, _ in batch if r.ack is not None and r.to is not None and r.ack_id is not None]
        try:
            self.relay.publish_acks(acks)
        except Exception:
            log.exception("chain consumer %s could not send %d acks; requeueing", self.party, len(acks))
            for delivery_tag, *_ in batch:
                ch.basic_nack(delivery_tag, requeue=True)
            time.sleep(self.reconnect_delay)
            return
        for _, result, props, body in batch:
            if result.refusal is not None and result.outcome == "invalid":
                p = result.refusal.problems[0]
                headers = dict(props.headers or {})
                headers.update({H_CODE: p.code, H_REASON: p.message, H_POINTER: p.pointer})
                dead.basic_publish(
                    "",
                    chain_dead_queue(self.party),
                    body,
                    pika.BasicProperties(
                        message_id=props.message_id,
                        type=props.type,
                        headers=headers,
                        delivery_mode=pika.DeliveryMode.Persistent,
                    ),
                    mandatory=True,
                )
        # every earlier delivery of this channel is settled (acked, or nacked just before): one frame
        ch.basic_ack(batch[-1][0], multiple=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[ChainConsumer]:
        """Run in a background thread for the duration of a ``with`` block."""
        self._stopping.clear()
        t = threading.Thread(target=self.run, name=f"eata-chain-{self.party}", daemon=True)
        t.start()
        try:
            yield self
        finally:
            self.stop()
            t.join(30)
