"""Attacks on trust: a territory's answers count only when signed by that territory's own signers.

Each territory × every other territory's key and the gateway's own key → refused (122), nothing stored;
answers that match no submission are refused (314); an answer whose application failed is applied when
customs send it again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conformance.simulators.testing import make_keys
from gateway.adapters import registry
from gateway.adapters.delivery import read_answer, read_claim, signer
from gateway.api.callback import callback_app
from gateway.api.service import Service
from gateway.chain.message import ChainKind, build
from gateway.codec import encode, serialize
from gateway.errors import Code, Refusal
from gateway.messages import Response
from gateway.model import Endorsement, TransactionKind, TransactionState, load_document
from gateway.serving import serving
from gateway.store import Database
from tests.conftest import EXAMPLES

CODES = registry.codes()
DOC = load_document((EXAMPLES / "journey-no-eu-ch.json").read_bytes())
CID = DOC.carnet.carnet_id


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("all-territories") / "keys"
    make_keys(directory, CODES)
    return directory


@pytest.fixture
def in_keys(keys: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EATA_KEYS_DIR", str(keys))
    return keys


# What the gateway sent, for answers read outside the service (real answers name only the LRN)
ANSWERED = {"carnet_id": CID, "transaction_id": "tx-005", "kind": "importation"}


def _answer(code: str, in_reply_to: str = "EATA-ANSWERED", **over: object) -> Response:
    office = registry.get(code).office_ids
    data: dict[str, object] = {
        "message_id": f"R{uuid.uuid4().hex[:16].upper()}",
        "in_reply_to": in_reply_to,
        "carnet_id": CID,
        "transaction_id": "tx-005",
        "kind": TransactionKind.IMPORTATION,
        "endorsement": Endorsement(
            office=sorted(office)[0] if office else f"{code}000001",
            place="Border",
            at=dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC),
            reference="REF-1",
            officer="Officer",
        ),
    }
    return Response.model_validate({**data, **over})


def _signed(keys: Path, code: str, key: str, response: Response) -> bytes:
    return encode(response, code, signer(keys.resolve(), key))


@pytest.mark.parametrize("code", CODES)
def test_only_the_territorys_own_signer_is_believed(in_keys: Path, code: str) -> None:
    adapter = registry.get(code)
    response = _answer(code)
    assert (
        read_answer(adapter, _signed(in_keys, code, adapter.sim_key, response), ANSWERED).in_reply_to
        == response.in_reply_to
    )
    forgers = [registry.get(other).sim_key for other in CODES if other != code] + ["gateway"]
    for forger in forgers:
        with pytest.raises(Refusal) as info:
            read_answer(adapter, _signed(in_keys, code, forger, response), ANSWERED)
        assert info.value.code == Code.CERT_UNTRUSTED, forger
        assert "does not sign for customs of" in str(info.value) or "gateway's own key" in str(info.value)


def test_a_claim_signed_by_another_territory_is_refused(in_keys: Path) -> None:
    claim = {
        "claim_id": "CH-2027-17",
        "territory": "CH",
        "carnet_id": CID,
        "items": "1-2",
        "duties": "1000.00",
        "amount": "1100.00",
        "currency": "CHF",
        "notified_on": "2027-09-15",
    }
    root = build(ChainKind.CLAIM_NOTIFIED, CID, "customs-CH", "CH-SCF", {"claim": claim})
    own = serialize(signer(in_keys.resolve(), "sim-ch").apply(root))
    assert read_claim(registry.get("CH"), own).claim_id == "CH-2027-17"
    root = build(ChainKind.CLAIM_NOTIFIED, CID, "customs-CH", "CH-SCF", {"claim": claim})
    forged = serialize(signer(in_keys.resolve(), "sim-de").apply(root))
    with pytest.raises(Refusal) as info:
        read_claim(registry.get("CH"), forged)
    assert info.value.code == Code.CERT_UNTRUSTED


def test_the_gateways_own_certificate_cannot_be_named_a_signer(in_keys: Path) -> None:
    adapter = registry.get("NO").with_(signers=("gateway",))
    with pytest.raises(Refusal) as info:
        read_answer(adapter, _signed(in_keys, "NO", "gateway", _answer("NO")), ANSWERED)
    assert info.value.code == Code.NOT_CONFIGURED


def test_per_territory_trust_folder_binds_signers(
    keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production layout: trust/CH/anchors (CA) + trust/CH/signers (the national signer's certificate)."""
    import shutil

    prod = tmp_path / "keys"
    shutil.copytree(keys, prod)
    (prod / "trust" / "CH" / "anchors").mkdir(parents=True)
    (prod / "trust" / "CH" / "signers").mkdir()
    shutil.copy(prod / "ca.cert.pem", prod / "trust" / "CH" / "anchors" / "ca.pem")
    shutil.copy(
        prod / "sim-at.cert.pem", prod / "trust" / "CH" / "signers" / "passar.pem"
    )  # CH signs as "at"
    monkeypatch.setenv("EATA_KEYS_DIR", str(prod))
    adapter = registry.get("CH")
    response = _answer("CH")
    assert (
        read_answer(adapter, _signed(prod, "CH", "sim-at", response), ANSWERED).message_id
        == response.message_id
    )
    with pytest.raises(Refusal) as info:
        read_answer(adapter, _signed(prod, "CH", "sim-ch", response), ANSWERED)
    assert info.value.code == Code.CERT_UNTRUSTED


# -- the callback, over real HTTP ---------------------------------------------------------------------


@dataclass
class Callback:
    url: str
    service: Service
    db: Database
    keys: Path


@pytest.fixture
def callback(in_keys: Path, tmp_path: Path) -> Iterator[Callback]:
    db = Database(f"sqlite:///{tmp_path / 'gateway.db'}")
    service = Service(db, share_secret="test-secret")
    txs = list(DOC.transactions)
    txs[4] = txs[4].model_copy(update={"state": TransactionState.SUBMITTED, "endorsement": None})
    issuer, _ = db.add_party("issuer", "Oslo Chamber of Commerce")
    db.create_carnet(DOC.model_copy(update={"transactions": tuple(txs)}), issuer.id, "482913")
    with db.begin() as c:
        db.add_submission("track-1", "EATA-ANSWERED", CID, "tx-005", "CH", c)
    app = callback_app(
        on_answer=lambda territory, answer, _doc: service.apply_response(answer, territory),
        answered=service.answered,  # as the running gateway: matched by the LRN/MRN it names
    )
    with serving(app) as server:
        yield Callback(server.url, service, db, in_keys)


def _state(cb: Callback) -> str:
    return cb.db.carnet(CID).doc.transactions[4].state.value


def test_forged_decisions_at_the_callback_commit_nothing(callback: Callback) -> None:
    """The reported attack: a decision signed with Germany's key (or the gateway's) pushed for CH."""
    for key in ("sim-de", "gateway", "sim-se"):
        data = _signed(callback.keys, "CH", key, _answer("CH"))
        r = httpx.post(f"{callback.url}/callback/CH", content=data, trust_env=False)
        assert r.status_code == 400, key
        assert r.json()["problems"][0]["code"] == Code.CERT_UNTRUSTED
    # and Germany's genuine signature over a decision pushed at the Swiss URL
    r = httpx.post(
        f"{callback.url}/callback/CH",
        content=_signed(callback.keys, "DE", "sim-de", _answer("DE")),
        trust_env=False,
    )
    assert r.status_code == 400
    assert _state(callback) == "submitted"
    assert not [e for e in callback.db.events() if e["kind"] == "committed"]


def test_answers_matching_no_submission_are_refused(callback: Callback) -> None:
    data = _signed(callback.keys, "CH", "sim-ch", _answer("CH", in_reply_to="EATA-NEVER-SENT"))
    r = httpx.post(f"{callback.url}/callback/CH", content=data, trust_env=False)
    assert r.status_code == 400
    assert r.json()["problems"][0]["code"] == Code.UNKNOWN_REFERENCE
    assert "EATA-NEVER-SENT" in r.json()["problems"][0]["message"]
    # an answer naming a transaction itself (eATA-aware systems may) must agree with the LRN's
    with pytest.raises(Refusal) as info:
        callback.service.apply_response(_answer("CH", transaction_id="tx-004"), "CH")
    assert info.value.code == Code.UNKNOWN_REFERENCE
    assert _state(callback) == "submitted"
    assert not callback.db.references("EATA-NEVER-SENT")


def test_an_answer_to_a_superseded_submission_is_refused(callback: Callback) -> None:
    import time

    time.sleep(0.01)
    with callback.db.begin() as c:
        callback.db.add_submission("track-2", "EATA-RESENT", CID, "tx-005", "CH", c)
    data = _signed(callback.keys, "CH", "sim-ch", _answer("CH"))  # still quotes EATA-ANSWERED
    r = httpx.post(f"{callback.url}/callback/CH", content=data, trust_env=False)
    assert r.status_code == 400 and r.json()["problems"][0]["code"] == Code.UNKNOWN_REFERENCE
    assert "superseded" in r.json()["problems"][0]["message"]
    assert _state(callback) == "submitted"


def test_an_answer_whose_application_failed_is_applied_when_sent_again(
    callback: Callback, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_add_event = Database.add_event
    failures = iter([True])

    def flaky(self: Database, *args: object, **kwargs: object) -> object:
        if next(failures, False):
            raise OSError("disk full")  # the database fails in the middle of applying the answer
        return real_add_event(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Database, "add_event", flaky)
    data = _signed(callback.keys, "CH", "sim-ch", _answer("CH"))
    with pytest.raises(httpx.HTTPError):
        r = httpx.post(f"{callback.url}/callback/CH", content=data, trust_env=False)
        r.raise_for_status()
    assert _state(callback) == "submitted"  # rolled back whole: no half-applied answer
    again = httpx.post(f"{callback.url}/callback/CH", content=data, trust_env=False)
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": False}
    assert _state(callback) == "committed"
    third = httpx.post(f"{callback.url}/callback/CH", content=data, trust_env=False)
    assert third.json() == {"received": True, "duplicate": True}
    assert len([e for e in callback.db.events() if e["kind"] == "committed"]) == 1
