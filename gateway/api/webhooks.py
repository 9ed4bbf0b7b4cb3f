"""Webhook deliveries: each subscription gets its party's events of the chosen kinds, in order, at least once.

The body is the event as JSON (the same as ``GET /v1/events``), signed with the subscription's secret:
``X-EATA-Signature: sha256=<hex HMAC of the body>``; ``X-EATA-Delivery`` is the event ID, so a receiver
drops repeats. A failed delivery is retried with growing pauses (2 s … 5 min) and later events wait
behind it; after ``MAX_FAILURES`` in a row the subscription is disabled with the reason, visible in
``GET /v1/webhooks``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from typing import Any

import httpx

from gateway.api.service import Service

log = logging.getLogger("eata.webhooks")
MAX_FAILURES = 20


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    def __init__(self, service: Service, *, interval: float = 0.5, timeout: float = 5.0) -> None:
        self.service = service
        self.interval = interval
        self.client = httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookDispatcher:
        self._thread = threading.Thread(target=self._run, name="eata-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
            except Exception:  # a broken subscription or store hiccup must not stop the others
                log.exception("webhook round failed")
            self._stop.wait(self.interval)

    def round(self, now: float | None = None) -> int:
        """Deliver what is due to every subscription; returns the number of events delivered."""
        now = time.time() if now is None else now
        sent = 0
        for hook in self.service.db.webhooks():
            if hook["disabled"] or hook["retry_at"] > now:
                continue
            party = self.service.db.party(hook["party_id"])
            if party is None:
                continue
            last = hook["last_event_id"]
            for event in self.service.events_for(party, after=last, limit=100):
                if event["kind"] in hook["kinds"]:
                    if not self._deliver(hook, event, now):
                        break  # later events wait behind it: receivers see them in order
                    sent += 1
                    # recorded per delivery: after a crash at most this one event is sent again
                    self.service.db.update_webhook(hook["id"], last_event_id=event["id"], failures=0)
                    hook["failures"] = 0
                last = event["id"]
            if last != hook["last_event_id"]:
                self.service.db.update_webhook(hook["id"], last_event_id=last)
        return sent

    def _deliver(self, hook: dict[str, Any], event: dict[str, Any], now: float) -> bool:
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-EATA-Event": event["kind"],
            "X-EATA-Delivery": str(event["id"]),
            "X-EATA-Signature": signature(hook["secret"], body),
        }
        try:
            r = self.client.post(hook["url"], content=body, headers=headers)
            if 200 <= r.status_code < 300:
                return True
            why = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}"
        failures = hook["failures"] + 1
        disabled = (
            f"stopped after {failures} failed deliveries, last: {why}" if failures >= MAX_FAILURES else None
        )
        self.service.db.update_webhook(
            hook["id"], failures=failures, retry_at=now + min(2.0**failures, 300.0), disabled=disabled
        )
        log.warning("webhook %s: event %s not delivered (%s)", hook["id"], event["id"], why)
        return False
