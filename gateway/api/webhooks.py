"""Webhook deliveries: each subscription gets its party's events of the chosen kinds, in order, at least once.

The body is the event as JSON (the same as ``GET /v1/events``), sent with the Standard Webhooks headers:
``webhook-id`` (one per event and subscription, the same on every retry, so a receiver drops repeats),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``: ``v1,`` and the base64
HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the subscription's secret (``whsec_…``). A receiver that
refuses stale timestamps cannot be fed a captured delivery again later. ``X-EATA-Event`` names the kind.

Each subscription is served on its own (a small pool of workers, one subscription each): one whose URL is
malformed, refused, slow or failing never stops or delays another. Its URL is checked again before every
delivery (:mod:`gateway.api.destinations`: resolved now, every address checked, the request sent to a
checked address with the URL's Host and TLS name) and redirects are not followed. A failed delivery is
retried with growing pauses (2 s … 5 min) and later events wait behind it; after ``MAX_FAILURES`` in a
row — or at once for a URL that can never work — the subscription is disabled with the reason, visible
in ``GET /v1/webhooks``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from gateway.api.destinations import Target
from gateway.api.service import Service
from gateway.errors import Refusal
from gateway.store.locks import try_lock

log = logging.getLogger("eata.webhooks")
MAX_FAILURES = 20


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value. Secrets are ``whsec_`` + base64 (Standard Webhooks); the hex
    secrets of subscriptions made before them are used as their own bytes."""
    key: str | bytes = secret if secret.startswith("whsec_") else secret.encode()
    return Webhook(key).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())


class WebhookDispatcher:
    def __init__(
        self, service: Service, *, interval: float = 0.5, timeout: float = 5.0, workers: int = 8
    ) -> None:
        self.service = service
        self.policy = service.destinations
        self.interval = interval
        self.client = httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eata-webhook")
        self._busy: set[str] = set()  # subscriptions a worker is serving now
        self._busy_lock = threading.Lock()
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
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round(wait=False)  # a subscription still being served is skipped, not waited for
            except Exception:  # a store hiccup: try again next time
                log.exception("webhook round failed")
            self._stop.wait(self.interval)

    def round(self, now: float | None = None, *, wait: bool = True) -> int:
        """Hand every subscription with something due to a worker; with ``wait``, wait for them and
        return the number of events delivered."""
        now = time.time() if now is None else now
        futures = []
        for hook in self.service.db.webhooks():
            if hook["disabled"] or hook["retry_at"] > now:
                continue
            with self._busy_lock:
                if hook["id"] in self._busy:
                    continue
                self._busy.add(hook["id"])
            futures.append(self._pool.submit(self._serve, hook, now))
        return sum(f.result() for f in futures) if wait else 0

    def _serve(self, hook: dict[str, Any], now: float) -> int:
        try:
            # replicas share the subscriptions: one serves a subscription at a time, from its row as it
            # is now (another replica may have delivered meanwhile), so no event goes out twice or early
            with try_lock(self.service.db.engine, f"eata-webhook:{hook['id']}") as mine:
                if not mine:
                    return 0
                fresh = next(
                    (h for h in self.service.db.webhooks(hook["party_id"]) if h["id"] == hook["id"]), None
                )
                if fresh is None or fresh["disabled"] or fresh["retry_at"] > now:
                    return 0
                return self._serve_hook(fresh, now)
        except Exception:  # whatever breaks here stays with this subscription
            log.exception("webhook %s: serving failed", hook["id"])
            return 0
        finally:
            with self._busy_lock:
                self._busy.discard(hook["id"])

    def _serve_hook(self, hook: dict[str, Any], now: float) -> int:
        party = self.service.db.party(hook["party_id"])
        if party is None:
            return 0
        sent, last = 0, hook["last_event_id"]
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
        msg_id, stamp = f"msg_{hook['id']}_{event['id']}", int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-EATA-Event": event["kind"],
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(hook["secret"], msg_id, stamp, body),
        }
        permanent = False
        why: str | None  # None once delivered
        try:
            target = self.policy.parse(hook["url"])
        except Refusal as exc:  # stored before URLs were checked: it will never work
            why, permanent = exc.problems[0].message, True
        else:
            try:
                why = self._post(target, self.policy.addresses(target), body, headers)
            except Refusal as exc:  # resolves (now) to an address webhooks may not go to
                why = exc.problems[0].message
            if why is None:
                return True
        failures = hook["failures"] + 1
        disabled = (
            f"stopped after {failures} failed deliveries, last: {why}"
            if permanent or failures >= MAX_FAILURES
            else None
        )
        self.service.db.update_webhook(
            hook["id"], failures=failures, retry_at=now + min(2.0**failures, 300.0), disabled=disabled
        )
        log.warning("webhook %s: event %s not delivered (%s)", hook["id"], event["id"], why)
        return False

    def _post(self, target: Target, addresses: list[str], body: bytes, headers: dict[str, str]) -> str | None:
        """POST to the first checked address that takes the connection; None if delivered, else why not."""
        headers = {**headers, "Host": target.host_header}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and target.ip is None else {}
        why = "no address of the host took the connection"
        for address in addresses:
            try:
                r = self.client.post(
                    target.url_at(address), content=body, headers=headers, extensions=extensions
                )
            except httpx.ConnectError as exc:
                why = f"cannot connect to {address}: {exc}"
                continue
            except httpx.HTTPError as exc:
                return f"{type(exc).__name__}: {exc}"
            if 200 <= r.status_code < 300:
                return None
            if r.is_redirect:
                where = r.headers.get("location", "")[:200]
                return f"HTTP {r.status_code}: redirects are not followed (to {where})"
            return f"HTTP {r.status_code}"
        return why
