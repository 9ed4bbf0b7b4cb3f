"""Run the suite: every applicable scenario for every territory, territories in parallel threads.

Two phases, so a fault scenario (one territory's simulator set to time out or fail) never hits a step
another territory sends there (eu-entry-exit exits through another member state): first every scenario
without faults, then the fault scenarios, each with a fault profile for its own territory only.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conformance.runner.callback import Pushes, pushes_app
from conformance.runner.evidence import Recorder
from conformance.runner.play import STATUS_WAIT, Target, play, wait_for_decision
from conformance.runner.results import CaseResult, SuiteResult
from conformance.runner.scenarios import SCENARIOS_DIR, Scenario, load_scenarios
from conformance.simulators.server import Running
from gateway.adapter_spec import Adapter, RetryPolicy, Timeouts
from gateway.adapters import registry
from gateway.settings import current
from gateway.transport.base import Delivered

# Against the simulators a fault scenario need not wait the production timeouts and backoff out: the same
# retries, sooner. Against a real endpoint the adapter's own policy applies.
FAST_TIMEOUTS = Timeouts(connect=2.0, read=0.5)
FAST_RETRY = RetryPolicy(attempts=3, backoff=0.05, max_backoff=0.2)


@dataclass
class Options:
    territories: list[str] | None = None  # None: all 30
    scenarios: list[str] | None = None  # scenario ids; None: all
    out_dir: Path = Path("conformance-report")
    faults: str = ""  # simulator-wide fault profile (e.g. nonconforming)
    territory_faults: dict[str, str] = field(default_factory=dict)  # code -> profile for that one only
    workers: int = 30
    endpoint: str | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    trust: Path | None = (
        None  # CA certificate vouching for the endpoint's signer, or the signer's own (pinned)
    )
    signer: Path | None = None  # with a CA --trust: the certificate of the endpoint's signer
    scenarios_dir: Path = SCENARIOS_DIR


class SimulatorTarget:
    """The runner's own simulators of every territory, on a loopback port (see loopback_world)."""

    name = "simulators"

    def __init__(self, running: Running, pushes: Pushes) -> None:
        self.running, self.pushes = running, pushes

    def mark(self, code: str) -> int:
        return self.pushes.mark(code)

    def decision(self, adapter: Adapter, message_id: str, mark: int) -> list[bytes]:
        """The documents customs pushed since ``mark`` (REST decisions come to the callback)."""
        return self.pushes.since(adapter.code, mark, STATUS_WAIT)

    def adapter(self, code: str, scenario: Scenario) -> Adapter:
        adapter = registry.get(code)
        if scenario.faults == "timeout":  # only here a short read timeout: elsewhere load could fake a 504
            return adapter.with_(timeouts=FAST_TIMEOUTS, retry=FAST_RETRY)
        if scenario.faults:
            return adapter.with_(retry=FAST_RETRY)
        return adapter

    def carnet(self, carnet_id: str, items: tuple[int, ...], valid_until: dt.date) -> None:
        self.running.control(
            "POST",
            "carnets",
            json={"carnet_id": carnet_id, "items": list(items), "valid_until": str(valid_until)},
        )

    def faults(self, code: str, profile: str | None) -> None:
        self.running.control("POST", f"faults/{code}", json={"profile": profile})

    def cancel(self, code: str, message_id: str, reason: str) -> bool:
        import httpx

        with httpx.Client(base_url=self.running.url, timeout=5.0, trust_env=False) as c:
            r = c.post(f"/_control/cancel/{code}", json={"message_id": message_id, "reason": reason})
            return r.status_code == 200 and bool(r.json().get("cancelled"))

    def skip_reason(self, scenario: Scenario) -> str | None:
        return None


class EndpointTarget:
    """One real national endpoint, named by the tester; the gateway side runs as in production."""

    def __init__(self, code: str, url: str, client_pem: Path | None) -> None:
        self.name, self.code, self.client_pem = url, code, client_pem

    def mark(self, code: str) -> int:
        return 0

    def decision(self, adapter: Adapter, message_id: str, mark: int) -> list[bytes]:
        """A real system pushes to a callback the runner may not be reachable at: ask for the decision."""
        outcome = wait_for_decision(adapter, message_id)
        return [outcome.response] if isinstance(outcome, Delivered) and outcome.response else []

    def adapter(self, code: str, scenario: Scenario) -> Adapter:
        adapter = registry.get(code)
        changes: dict[str, object] = {}
        if self.client_pem is not None:
            changes["tls_client_cert"] = str(self.client_pem)
        return adapter.with_(**changes) if changes else adapter

    def carnet(self, carnet_id: str, items: tuple[int, ...], valid_until: dt.date) -> None:
        """A real system learns the carnet from the eATA Core; nothing to tell it from here."""

    def faults(self, code: str, profile: str | None) -> None:
        raise RuntimeError("fault profiles exist only on the simulators")

    def cancel(self, code: str, message_id: str, reason: str) -> bool:
        raise RuntimeError("cancellation is an officer's action at the national portal")

    def skip_reason(self, scenario: Scenario) -> str | None:
        if scenario.faults:
            return "needs a simulator fault profile: not run against a real endpoint"
        if any(s.cancel for s in scenario.steps):
            return "needs the officer's cancellation at the national portal: play it by hand"
        if any(s.answer != "normal" for s in scenario.steps):
            return "needs a simulator answering with references never sent: not run against a real endpoint"
        if any(s.office == "other-member-state" for s in scenario.steps):
            return "sends to a second member state's system: not run against one endpoint"
        return None


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def simulators(faults: str, territory_faults: dict[str, str]) -> Iterator[SimulatorTarget]:
    """Keys in a temp dir, the simulators of all 30 territories and a callback, env pointed at them."""
    from conformance.simulators.server import serve_in_thread, start_simulator
    from conformance.simulators.testing import make_keys

    with tempfile.TemporaryDirectory(prefix="eata-conformance-") as tmp, ExitStack() as stack:
        keys = Path(tmp) / "keys"
        make_keys(keys)
        pushes = Pushes()
        callback = stack.enter_context(serve_in_thread(pushes_app(pushes)))
        running = stack.enter_context(start_simulator(keys_dir=keys, faults=faults))
        env = {
            "EATA_KEYS_DIR": str(keys),
            "EATA_SIMULATOR_URL": running.url,
            "EATA_CALLBACK_URL": callback.url + "/callback",
        }
        with _env(env):
            target = SimulatorTarget(running, pushes)
            for code, profile in territory_faults.items():
                target.faults(code, profile)
            yield target


@contextmanager
def endpoint(options: Options, code: str) -> Iterator[EndpointTarget]:
    """Env for one territory's real endpoint: its address, a keys dir with the gateway key and the trust."""
    with tempfile.TemporaryDirectory(prefix="eata-endpoint-") as tmp:
        keys = Path(tmp)
        source = current().keys_dir
        for name in ("gateway.key.pem", "gateway.cert.pem", "ca.cert.pem"):
            if (source / name).is_file():
                shutil.copy(source / name, keys / name)
        if options.trust is not None:
            _lay_trust(keys / "trust" / code, options.trust, options.signer)
        pem = None
        if options.client_cert is not None:  # the transports want certificate and key in one PEM
            pem = keys / "client.pem"
            parts = [options.client_cert.read_bytes()]
            if options.client_key is not None:
                parts.append(options.client_key.read_bytes())
            pem.write_bytes(b"\n".join(parts))
        assert options.endpoint is not None
        with _env({f"EATA_ENDPOINT_{code}": options.endpoint, "EATA_KEYS_DIR": str(keys)}):
            yield EndpointTarget(code, options.endpoint, pem)


def _lay_trust(folder: Path, trust: Path, signer: Path | None) -> None:
    """The endpoint's trust as gateway.adapters.trust reads it: a CA with its signer, or a pinned leaf."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(trust.read_bytes())
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if is_ca and signer is None:
        raise ValueError("--trust names a CA: name the endpoint's signing certificate with --signer too")
    for sub, source in (
        ("anchors", trust if is_ca else None),
        ("pinned", None if is_ca else trust),
        ("signers", signer),
    ):
        if source is not None:
            (folder / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy(source, folder / sub / "cert.pem")


def plan(scenarios: list[Scenario], territories: list[str]) -> list[tuple[int, Scenario, str]]:
    """(scenario number, scenario, territory) for every applicable case."""
    return [(n, s, code) for n, s in enumerate(scenarios, start=1) for code in s.territories(territories)]


def run_suite(options: Options, progress: Callable[[CaseResult], None] | None = None) -> SuiteResult:
    """Play the suite and write evidence under ``options.out_dir``; reports are written by the caller."""
    all_codes = registry.codes()
    territories = sorted(options.territories or all_codes)
    unknown = [c for c in territories if c not in all_codes]
    if unknown:
        raise ValueError(f"unknown territory {unknown[0]!r}; known: {', '.join(sorted(all_codes))}")
    if options.endpoint and len(territories) != 1:
        raise ValueError("--endpoint targets one national system: name exactly one --territory")
    scenarios = load_scenarios(options.scenarios_dir, options.scenarios)
    out = options.out_dir.resolve()
    evidence = out / "evidence"
    if evidence.exists():
        shutil.rmtree(evidence)  # evidence of an earlier run would be mistaken for this one's
    evidence.mkdir(parents=True)
    run = secrets.token_hex(3).upper()
    cases = plan(scenarios, territories)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    results: dict[tuple[str, str], CaseResult] = {}

    def territory_worker(code: str, batch: list[tuple[int, Scenario, str]], target: Target) -> None:
        for number, scenario, _ in batch:
            recorder = Recorder(out, Path("evidence") / code / scenario.id)
            result = play(scenario, number, code, target, run, recorder)
            results[(code, scenario.id)] = result
            if progress is not None:
                progress(result)

    with ExitStack() as stack:
        if options.endpoint:
            target: Target = stack.enter_context(endpoint(options, territories[0]))
        else:
            target = stack.enter_context(simulators(options.faults, options.territory_faults))
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()  # the run's figure is play time; set-up is reported on its own
        for phase in (False, True):  # without faults, then with
            by_territory: dict[str, list[tuple[int, Scenario, str]]] = {}
            for case in cases:
                if (case[1].faults is not None) == phase:
                    by_territory.setdefault(case[2], []).append(case)
            with ThreadPoolExecutor(
                max_workers=max(1, options.workers), thread_name_prefix="conformance"
            ) as pool:
                for future in [pool.submit(territory_worker, c, b, target) for c, b in by_territory.items()]:
                    future.result()
    finished = dt.datetime.now(dt.UTC)
    ordered = [results[(code, s.id)] for s in scenarios for code in s.territories(territories)]
    ordered.sort(key=lambda c: (c.territory, [s.id for s in scenarios].index(c.scenario)))
    return SuiteResult(
        cases=ordered,
        territories=territories,
        scenarios=[s.id for s in scenarios],
        target=target.name,
        faults=options.faults,
        started=started.isoformat(timespec="seconds"),
        finished=finished.isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - t0, 2),
        setup_seconds=round(setup, 2),
        out_dir=str(out),
    )
