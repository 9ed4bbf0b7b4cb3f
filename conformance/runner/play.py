"""Play one scenario against one territory: build each step's declaration, send it, read the answer.

Every case gets its own carnet and message IDs (from the run's token), so cases never see each other's
records and territories can run in parallel against one simulator. Steps are sent through the territory's
adapter and transport (encode, sign, SOAP or REST, retries, answer verification), exactly as the relay
delivers them; only the document may be spoiled on purpose (bad signature, schema-invalid).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from conformance.runner.evidence import Recorder, install, recording
from conformance.runner.results import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    CaseResult,
    Observation,
    StepResult,
    diagnose,
)
from conformance.runner.scenarios import ANSWERS, Scenario, Step
from gateway.adapter_spec import Adapter
from gateway.adapters.delivery import answered, encode_for, read_answer, signer
from gateway.errors import Code, Refusal
from gateway.items import parse_items
from gateway.messages import Declaration
from gateway.messages.declaration import DeclaredItem
from gateway.model import TransactionKind, Transit
from gateway.settings import current
from gateway.territories import EU_MEMBERS
from gateway.transport import rest, soap
from gateway.transport.base import (
    Delivered,
    Outcome,
    RetryableFailure,
    http_client,
    with_retries,
)
from gateway.xmlsafe import parse_xml, serialize

K = TransactionKind
FIRST_DAY = dt.date(2026, 9, 1)  # the carnet's first day of use; "day: N" counts from it
VALID_UNTIL = dt.date(2027, 8, 31)  # one year (Annex A Art. 5.1)
GENERAL_LIST = (1, 2, 3, 4)
STATUS_WAIT = 10.0  # seconds to wait for an acknowledged (REST) decision


class Target(Protocol):
    """Where the national systems are: the runner's simulators, or one real endpoint."""

    name: str

    def adapter(self, code: str, scenario: Scenario) -> Adapter: ...

    def carnet(self, carnet_id: str, items: tuple[int, ...], valid_until: dt.date) -> None: ...

    def faults(self, code: str, profile: str | None) -> None: ...

    def cancel(self, code: str, message_id: str, reason: str) -> bool: ...

    def skip_reason(self, scenario: Scenario) -> str | None: ...

    def mark(self, code: str) -> int: ...

    def decision(self, adapter: Adapter, message_id: str, mark: int) -> list[bytes]: ...


# -- the case's carnet and declarations ------------------------------------------------------------
_TEMPLATE: Declaration | None = None


def template() -> Declaration:
    """The example journey's importation: holder, goods, association; every case changes the rest."""
    global _TEMPLATE
    if _TEMPLATE is None:
        from gateway.messages import declaration_for
        from gateway.model.load import load_document
        from gateway.resources import data_dir

        doc = load_document((data_dir("examples") / "journey-gb.json").read_bytes())
        index = next(i for i, tx in enumerate(doc.transactions) if tx.kind == K.IMPORTATION)
        _TEMPLATE = declaration_for(doc, index, "TEMPLATE")
    return _TEMPLATE


def _items(selection: str) -> tuple[DeclaredItem, ...]:
    listed = {i.item_number: i for i in template().items}
    out = []
    for n in parse_items(selection, range(1, 100000)):
        if n in listed:
            out.append(listed[n])
        else:  # a line the holder typed that is not on the general list (scenarios 07, 10)
            base = listed[GENERAL_LIST[0]]
            out.append(
                base.model_copy(update={"item_number": n, "description": f"Goods line {n} (not listed)"})
            )
    return tuple(out)


def offices(adapter: Adapter) -> dict[str, str]:
    listed = [o.id for o in adapter.offices or ()]
    code = adapter.code
    entry = listed[0] if listed else f"{code}000001"
    exit_ = listed[1] if len(listed) > 1 else (entry if listed else f"{code}000002")
    # Unknown: not on the list; when none is listed any office of the country is valid, so a foreign one.
    unknown = f"{code}9Z9Z9Z" if listed else ("US000304" if code != "US" else "CA000304")
    return {"entry": entry, "exit": exit_, "destination": exit_, "unknown": unknown}


def other_member_state(code: str) -> str:
    """The EU member the exit of eu-entry-exit is declared in: the next one in alphabetical order."""
    members = sorted(EU_MEMBERS)
    return members[(members.index(code) + 1) % len(members)]


@dataclass
class CaseIds:
    run: str  # the run's token (upper-case hex)
    code: str
    number: int  # the scenario's position

    @property
    def stem(self) -> str:
        return f"{self.run}{self.code}{self.number:02d}"

    def message_id(self, step: int) -> str:
        return f"CF{self.stem}-{step}"

    def transaction_id(self, step: int) -> str:
        return f"T{self.stem}-{step}"

    def transaction_code(self, step: int) -> str:
        return f"{self.run[:6]}{step:02d}"


@dataclass
class CaseState:
    carnet_id: str
    issuer: str
    last_message: str | None = None
    last_committed: tuple[str, str] | None = None  # (territory, message ID) the next cancel step rolls back
    movement: tuple[str, Transit] | None = None  # MRN and transit of the last committed transit start
    overrides: dict[str, str] = field(default_factory=dict)


def declaration(
    step: Step, n: int, ids: CaseIds, state: CaseState, office: str, adapter: Adapter
) -> Declaration:
    t = template()
    date = FIRST_DAY + dt.timedelta(days=step.day)
    transit: Transit | None = None
    movement: str | None = None
    if step.kind == K.TRANSIT_START:
        transit = Transit(
            office_of_destination=offices(adapter)["destination"],
            final_date=FIRST_DAY + dt.timedelta(days=step.final_day if step.final_day is not None else 8),
            seals=step.seals,
        )
    elif step.kind == K.TRANSIT_DISCHARGE and state.movement is not None:
        movement, transit = state.movement
    message_id = state.last_message if step.send == "again" and state.last_message else ids.message_id(n)
    update: dict[str, object] = {
        "message_id": message_id,
        "carnet_id": state.carnet_id,
        "transaction_id": ids.transaction_id(n),
        "transaction_code": ids.transaction_code(n),
        "kind": step.kind,
        "office": office,
        "date": date,
        "issuing_country": state.issuer,
        "issuing_association": t.issuing_association if state.issuer == "NO" else f"{state.issuer} chamber",
        "valid_until": VALID_UNTIL,
        "items": _items(step.items),
        "transit": transit,
        "movement_reference": movement,
        "intended_place_of_use": t.intended_place_of_use if step.kind == K.IMPORTATION else None,
        "not_processed_abroad": None,
        **state.overrides,
    }
    return Declaration.model_validate({**t.model_dump(), **update})


# -- spoiling a document on purpose --------------------------------------------------------------------
def tamper(document: bytes, d: Declaration) -> bytes:
    """Change signed content after signing (the holder's name), so the signature no longer verifies."""
    name = d.holder.name.encode()
    spoilt = name[:-1] + (b"X" if name[-1:] != b"X" else b"Y")
    if name in document:
        return document.replace(name, spoilt, 1)
    return document.replace(d.carnet_id.encode(), d.carnet_id.encode()[:-1] + b"Q", 1)


def break_schema(adapter: Adapter, document: bytes) -> bytes:
    """A properly signed document with an element its schema does not allow (at the end of the root)."""
    from gateway.codec import without_signature

    root = without_signature(parse_xml(document))
    ns = etree.QName(root).namespace
    extra = etree.SubElement(root, f"{{{ns}}}NotInTheSchema" if ns else "NotInTheSchema")
    extra.text = "conformance"
    return serialize(signer(current().keys_dir.resolve(), adapter.signing_key).apply(root))


# -- reading what came back ---------------------------------------------------------------------------
def _refusal_details(body: bytes | None) -> tuple[int | None, str | None]:
    """The code and pointer of a refused document from the raw answer (SOAP fault detail or REST JSON)."""
    if not body:
        return None, None
    if body.lstrip().startswith(b"{"):
        import json

        try:
            problem = json.loads(body)["problems"][0]
            return int(problem["code"]), problem.get("pointer")
        except (ValueError, KeyError, IndexError, TypeError):
            return None, None
    try:
        root = parse_xml(body)
    except Refusal:
        return None, None
    code, pointer = root.find(".//{*}FaultDetail/{*}code"), root.find(".//{*}FaultDetail/{*}pointer")
    try:
        number = int(code.text) if code is not None and code.text else None
    except ValueError:
        number = None
    return number, pointer.text if pointer is not None else None


def observe(
    adapter: Adapter, d: Declaration, outcome: Outcome, recorder: Recorder, pushed: list[bytes] | None = None
) -> Observation:
    if isinstance(outcome, Delivered):
        documents = [outcome.response] if outcome.response is not None else pushed or []
        if not documents:
            return Observation("failed", Code.CUSTOMS_TIMEOUT, detail="acknowledged, but no decision came")
        answer = None
        for n, document in enumerate(documents, start=1):
            recorder.write(f"answer{n if n > 1 else ''}.xml", document)
            try:
                # matched as the gateway matches answers: by the LRN or MRN they name (gateway.correlation)
                answer = read_answer(adapter, document, answered(d))
            except Refusal as exc:
                if exc.code == Code.UNKNOWN_REFERENCE:  # answers nothing sent: attached to nothing
                    return Observation("refused", exc.code, exc.problems[0].pointer, str(exc))
                return Observation(
                    "failed", exc.code, exc.problems[0].pointer, f"answer not trustworthy: {exc}"
                )
            if answer.in_reply_to == d.message_id:
                break
        assert answer is not None
        if answer.in_reply_to != d.message_id:
            return Observation("failed", Code.CUSTOMS_FAULT, detail=f"answer to {answer.in_reply_to}")
        if answer.endorsement is not None:
            return Observation("committed", reference=answer.endorsement.reference)
        r = answer.rejection
        assert r is not None
        return Observation("rejected", r.code, None, r.reason or "")
    if isinstance(outcome, RetryableFailure):
        return Observation(
            "failed", outcome.code, detail=f"{outcome.reason} after {outcome.attempts} attempts"
        )
    code, pointer = _refusal_details(recorder.last_response)
    code = code or outcome.code
    kind = "rejected" if code < 500 else "failed"
    return Observation(kind, code, pointer, outcome.reason)


def wait_for_decision(adapter: Adapter, message_id: str) -> Outcome:
    """REST customs acknowledge first; the decision is read back with the status query (as the relay may)."""
    deadline = time.monotonic() + STATUS_WAIT
    outcome: Outcome = Delivered(None, message_id)
    while time.monotonic() < deadline:
        outcome = rest.query_status(adapter, message_id)
        if not isinstance(outcome, Delivered) or outcome.response is not None:
            return outcome
        time.sleep(0.05)
    return outcome


def send(adapter: Adapter, d: Declaration, how: str, recorder: Recorder, target: Target) -> Observation:
    document = encode_for(adapter, d)
    if how == "bad-signature":
        document = tamper(document, d)
    elif how == "schema-invalid":
        document = break_schema(adapter, document)
    recorder.write("request.xml", document)
    install(http_client(adapter))
    submit = rest.submit if adapter.transport == "rest" else soap.submit
    mark = target.mark(adapter.code)
    outcome = with_retries(adapter, lambda: submit(adapter, document, d.message_id))
    pushed = None
    if isinstance(outcome, Delivered) and outcome.response is None:  # acknowledged: the decision follows
        pushed = target.decision(adapter, d.message_id, mark)
    return observe(adapter, d, outcome, recorder, pushed)


# -- one case -------------------------------------------------------------------------------------------
def play(
    scenario: Scenario, number: int, code: str, target: Target, run: str, recorder: Recorder
) -> CaseResult:
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    case = CaseResult(
        code, scenario.id, scenario.title, PASSED, started=started.isoformat(timespec="seconds")
    )
    if (reason := target.skip_reason(scenario)) is not None:
        case.status, case.diagnosis = SKIPPED, reason
        return case
    ids = CaseIds(run, code, number)
    issuer = scenario.carnet.get("issuing_country") or (
        code if scenario.home else ("DE" if code == "NO" else "NO")
    )
    state = CaseState(
        f"{issuer}/CF/{ids.stem}",
        issuer,
        overrides={k: v for k, v in scenario.carnet.items() if k != "issuing_country"},
    )
    try:
        target.carnet(state.carnet_id, GENERAL_LIST, VALID_UNTIL)
        if scenario.sim_faults:
            target.faults(code, scenario.sim_faults)
        with recording(recorder):
            for n, step in enumerate(scenario.steps):
                result = _step(scenario, step, n, code, ids, state, target, recorder)
                case.steps.append(result)
                if not result.passed:  # later steps build on this one: stop here
                    case.status, case.diagnosis = (
                        FAILED,
                        f"step {n + 1} ({step.kind.value}): {result.diagnosis}",
                    )
                    break
    except Exception as exc:  # the runner's own trouble is an error, not a verdict on customs
        case.status, case.diagnosis = ERROR, f"{type(exc).__name__}: {exc}"
    finally:
        if scenario.sim_faults:
            try:
                target.faults(code, None)
            except Exception as exc:
                case.status, case.diagnosis = ERROR, f"could not clear the fault profile: {exc}"
    case.seconds = round(time.perf_counter() - t0, 3)
    return case


def _step(
    scenario: Scenario,
    step: Step,
    n: int,
    code: str,
    ids: CaseIds,
    state: CaseState,
    target: Target,
    recorder: Recorder,
) -> StepResult:
    recorder.begin(n + 1)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    t0 = time.perf_counter()
    where = other_member_state(code) if step.office == "other-member-state" else code
    adapter = target.adapter(where, scenario)
    office = offices(adapter)["entry" if step.office == "other-member-state" else step.office]
    if step.cancel is not None:
        territory, message_id = state.last_committed or (code, "")
        done = bool(message_id) and target.cancel(territory, message_id, step.cancel)
        seen = Observation(
            "cancelled" if done else "rejected",
            None if done else Code.CANCELLATION,
            detail=step.cancel if done else "nothing committed to cancel",
        )
        recorder.write(
            "cancel.txt", f"cancel {message_id} at {territory}: {step.cancel} -> {done}\n".encode()
        )
        message = message_id
    else:
        d = declaration(step, n, ids, state, office, adapter)
        message = d.message_id
        answer_fault = ANSWERS[step.answer]
        if answer_fault:  # this one answer names references never sent (over the scenario's profile)
            target.faults(where, ",".join(filter(None, (scenario.sim_faults, answer_fault))))
        try:
            seen = send(adapter, d, step.send, recorder, target)
        finally:
            if answer_fault:
                target.faults(where, scenario.sim_faults)
        state.last_message = d.message_id
        if seen.outcome == "committed":
            state.last_committed = (where, d.message_id)
            if step.kind == K.TRANSIT_START and seen.reference and d.transit is not None:
                state.movement = (seen.reference, d.transit)
    return StepResult(
        index=n + 1,
        kind=step.kind.value,
        territory=where,
        office=office,
        message_id=message,
        expect=str(step.expect),
        observed=seen,
        diagnosis=diagnose(step.expect, seen),
        evidence=list(recorder.files),
        at=at,
        seconds=round(time.perf_counter() - t0, 3),
    )


__all__ = ["Target", "play"]
