"""Wiring of the running gateway: settings → store → service → API, plus its background loops."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from gateway.api.app import create_app
from gateway.api.background import OutboxDrainer, ResultConsumer
from gateway.api.callback import callback_app
from gateway.api.clientcert import ClientCertPolicy
from gateway.api.metrics import broker_sampler
from gateway.api.results import Inbox, handle_safely
from gateway.api.service import Service
from gateway.api.webhooks import WebhookDispatcher
from gateway.console import ConsoleConfig
from gateway.model import CarnetDocument, Claim
from gateway.relay.publisher import Publisher
from gateway.relay.store import Store
from gateway.settings import Settings
from gateway.store import Database, NotFound
from gateway.territories import EATA_COUNTRIES


def database(settings: Settings) -> Database:
    return Database(engine=Store(settings.database_url).engine)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.database_url)  # one database: carnets, outbox and dedup together
        self.db = Database(engine=self.store.engine)
        self.drainer: OutboxDrainer | None = None
        self.consumer: ResultConsumer | None = None
        if settings.amqp_url:
            self.drainer = OutboxDrainer(
                Publisher(settings.amqp_url, self.store),
                sorted(EATA_COUNTRIES),
                on_failures=lambda n: self.app.state.metrics.outbox_failures.inc(n),
            )
        self.service = Service(
            self.db,
            outbox=self.store,
            wake=self.drainer.wake if self.drainer else None,
            share_secret=settings.share_secret,
            pin_window_s=settings.pin_window_s,
            pin_max_wrong=settings.pin_max_wrong,
            webhook_allow=settings.webhook_allow or "",
        )
        self.inbox = Inbox(self.service)
        self.webhooks = WebhookDispatcher(self.service)
        if settings.amqp_url:
            self.consumer = ResultConsumer(
                settings.amqp_url, lambda t, c, m, b: handle_safely(self.inbox, t, c, m, b)
            )
        self.app: FastAPI = create_app(
            self.service,
            ready_checks={
                "store": self._store_ready,
                "broker": self._broker_ready,
                "outbox": self._outbox_ready,
            },
            client_certs=ClientCertPolicy(
                settings.client_cert_header,
                frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip()),
            )
            if settings.client_cert_header
            else None,
            console=ConsoleConfig(
                amqp_url=settings.amqp_url,
                keys_dir=settings.keys_dir,
                secret=hashlib.sha256(b"eata-console|" + settings.share_secret.encode()).hexdigest(),
            ),
            callback=callback_app(
                on_answer=lambda territory, answer, _doc: self.inbox.answer(territory, answer),
                answered=self.service.answered,  # matched by LRN/MRN to what this gateway sent
                on_claim=lambda territory, claim, _doc: self.service.claim_received(
                    territory, claim, self._forward_claim
                ),
            ),
        )
        self.chain: Any = None
        self.claims: Any = None
        self._chain_consumers: list[tuple[Any, threading.Thread]] = []
        if settings.amqp_url and settings.chain_keys:
            self._chain(settings.amqp_url, Path(settings.chain_keys))
        if settings.amqp_url:
            self.app.state.metrics.sampler = broker_sampler(
                settings.amqp_url,
                sorted(EATA_COUNTRIES),
                self.store.outbox_counts,
                self.store.outbox_oldest_age,
                lambda: self.drainer is None or self.drainer.error is None,
            )

    def _chain(self, amqp_url: str, keys: Path) -> None:
        """Speak for the customs whose chain keys we hold: relay their claims, receive the proof back."""
        from gateway.chain.relay import ChainRelay, KeyRing
        from gateway.claims.flow import ClaimFlow, customs_party

        self.chain = ChainRelay(amqp_url, self.store, KeyRing(keys))
        self.claims = ClaimFlow(self.chain, self._document)
        self.chain_parties = [
            customs_party(c)
            for c in sorted(EATA_COUNTRIES)
            if (keys / f"customs-{c.lower()}.key.pem").exists()
        ]

    def _claim_handler(self, inc: Any) -> Any:
        """The claims flow, and the carnet's parties told when proof closes a claim (events, webhooks)."""
        result = self.claims.handler(inc)
        if result and result.get("claim_state") == "closed":
            claim = inc.payload.get("claim") or {}
            self.db.add_event(
                str(inc.message["CarnetID"]),
                "claim_closed",
                {"claim_id": claim.get("claim_id"), **result},
                territory=claim.get("territory"),
            )
        return result

    def _document(self, carnet_id: str) -> CarnetDocument | None:
        try:
            return self.db.carnet(carnet_id).doc
        except NotFound:
            return None

    def _forward_claim(self, claim: Claim) -> bool:
        if self.claims is None:
            return False
        self.claims.notify(claim)  # refuses barred or over-cap claims before anything is sent
        return True

    def _store_ready(self) -> str | None:
        try:
            with self.store.engine.connect() as c:
                c.exec_driver_sql("select 1")
        except Exception as exc:  # any driver error means not ready
            return str(exc)
        return None

    def _outbox_ready(self) -> str | None:
        """Down while the drainer cannot publish: since when, why, and how much waits."""
        if self.drainer is None or self.drainer.error is None:
            return None
        since = time.time() - (self.drainer.down_since or time.time())
        try:
            waiting = self.store.outbox_counts()["outbox_pending"]
            age = f"{waiting} waiting, oldest {self.store.outbox_oldest_age():.0f} s"
        except Exception as exc:  # the store may be the one away
            age = f"backlog unknown ({type(exc).__name__})"
        return f"not publishing for {since:.0f} s: {self.drainer.error}; {age}"

    def _broker_ready(self) -> str | None:
        if not self.settings.amqp_url:
            return "no EATA_AMQP_URL configured"
        from gateway.relay.connect import connect

        try:
            connect(self.settings.amqp_url).close()
        except Exception as exc:  # connection refused, auth, DNS…
            return f"broker unreachable: {exc}"
        return None

    def start(self) -> Runtime:
        self.webhooks.start()
        if self.chain is not None:
            self.chain.declare(self.chain_parties)
            for party in self.chain_parties:
                consumer = self.chain.consumer(party, self._claim_handler)
                thread = threading.Thread(target=consumer.run, name=f"eata-chain-{party}", daemon=True)
                thread.start()
                self._chain_consumers.append((consumer, thread))
        if self.drainer:
            self.drainer.start()
        if self.consumer:
            self.consumer.start()
        return self

    def stop(self) -> None:
        self.webhooks.stop()
        for consumer, thread in self._chain_consumers:
            consumer.stop()
            thread.join(30)
        if self.chain is not None:
            self.chain.close()
        if self.consumer:
            self.consumer.stop()
        if self.drainer:
            self.drainer.stop()
