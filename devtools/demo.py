"""The main job: a full carnet journey on a real broker, through the gateway, to national simulators.

Starts a private RabbitMQ node, national customs simulators (Norway, Sweden and Germany for the EU,
Switzerland on its own), the gateway API with its outbox drainer and result consumer, and one relay
worker per territory; then plays docs/domain.md's journey through the REST API as an issuing association, a
holder and customs would: issue, download with the PIN, sign, plan the travel, and declare each voucher.
Switzerland's system goes down for the re-exportation: the gateway falls back to paper (the grace year),
prints the white voucher as PDF, and customs record the stamped voucher afterwards. It ends with the
ledger showing every item home, and stops everything it started.

    python -m devtools.demo            (or: make demo)
    python -m devtools.demo --keep     (or: make demo KEEP=1): then the console stays open until Ctrl-C
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from gateway.resources import data_dir

console = Console(highlight=False)
TERRITORIES = ("NO", "SE", "DE", "CH")


def step(text: str) -> None:
    console.print(f"\n[bold cyan]▶ {text}[/bold cyan]")


class Demo:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.cleanup: list[Any] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    # -- infrastructure ---------------------------------------------------------------------------
    def start(self) -> None:
        from conformance.simulators.server import start_simulator
        from conformance.simulators.testing import make_keys
        from devtools.rabbit import RabbitNode
        from gateway.api.settings import Settings
        from gateway.runtime import Runtime
        from gateway.serving import ThreadedServer, free_port

        step("Starting RabbitMQ, national simulators, the gateway and its workers")
        keys = self.state / "keys"
        make_keys(keys, list(TERRITORIES))
        rabbit_dir = Path(tempfile.mkdtemp(prefix="eata-demo-rabbit-"))
        node = RabbitNode(str(rabbit_dir), f"eatademo{os.getpid()}")
        node.start()

        def stop_rabbit() -> None:
            node.stop()
            shutil.rmtree(rabbit_dir, ignore_errors=True)

        self.cleanup.append(stop_rabbit)
        console.print(f"  RabbitMQ node {node.url.split('@')[-1]} (quorum queues)")
        self.amqp_url = node.url

        eu_sim = start_simulator(["NO", "SE", "DE"], keys_dir=keys)
        ch_sim = start_simulator(["CH"], keys_dir=keys)
        self.cleanup += [eu_sim.stop, ch_sim.stop]
        self.ch_sim = ch_sim
        console.print(f"  simulators: Norway/Sweden/Germany at {eu_sim.url}, Switzerland at {ch_sim.url}")

        port = free_port()
        env = {
            "EATA_KEYS_DIR": str(keys),
            "EATA_SIMULATOR_URL": eu_sim.url,
            "EATA_ENDPOINT_CH": f"{ch_sim.url}/customs/CH/soap",
            "EATA_AMQP_URL": node.url,
            "EATA_DATABASE_URL": f"sqlite:///{self.state / 'gateway.db'}",
            "EATA_CALLBACK_URL": f"http://127.0.0.1:{port}/customs/callback",
            # the console reads the workers' delivery records (signed answers, replays) from their stores
            "EATA_CONSOLE_RELAY_STORES": ",".join(
                f"sqlite:///{self.state / f'relay-{t}.db'}" for t in TERRITORIES
            ),
        }
        os.environ.update(env)
        self.runtime = Runtime(Settings()).start()
        server = ThreadedServer(self.runtime.app, port=port).start()
        self.cleanup += [self.runtime.stop, server.stop]
        self.url = server.url
        console.print(f"  gateway API at {self.url} (OpenAPI at {self.url}/docs)")

        for t in TERRITORIES:
            cmd = [
                sys.executable,
                "-m",
                "gateway",
                "worker",
                "-t",
                t,
                "--concurrency",
                "2",
                "--delays",
                "300,600",
                "--store",
                f"sqlite:///{self.state / f'relay-{t}.db'}",
            ]
            self.workers.append(subprocess.Popen(cmd, env={**os.environ, **env}, stderr=subprocess.DEVNULL))
        console.print(f"  relay workers for {', '.join(TERRITORIES)}")

    def stop(self) -> None:
        for w in self.workers:
            w.send_signal(signal.SIGTERM)
        for w in self.workers:
            try:
                w.wait(timeout=15)
            except subprocess.TimeoutExpired:
                w.kill()
        for fn in reversed(self.cleanup):
            try:
                fn()
            except Exception as exc:  # keep stopping the rest
                console.print(f"  (while stopping: {exc})")

    # -- the journey ------------------------------------------------------------------------------
    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=30, trust_env=False)

    def play(self) -> bool:
        db = self.runtime.db
        _, issuer_key = db.add_party("issuer", "Oslo Chamber of Commerce")
        _, holder_key = db.add_party("holder", "Nordlys Film AS")
        _, ch_customs_key = db.add_party("customs", "Swiss customs (BAZG)", "CH")
        issuer, holder, ch_customs = (
            self.client(issuer_key),
            self.client(holder_key),
            self.client(ch_customs_key),
        )

        template = json.loads((data_dir("examples") / "journey-no-eu-ch.json").read_text())
        today = date.today()
        carnet = {
            **template["carnet"],
            "status": "draft",
            "issue_date": today.isoformat(),
            "valid_until": (today + timedelta(days=364)).isoformat(),
        }
        carnet.pop("signature")
        cid = carnet["carnet_id"]

        step(f"Oslo Chamber of Commerce issues carnet {cid} (B2 professional equipment, 4 items)")
        check(issuer.post("/v1/carnets", json={"carnet": carnet, "pin": "482913"}), 201)
        check(issuer.post(f"/v1/carnets/{cid}/issue"), 200)
        step("The holder downloads it with the carnet PIN and signs the general list")
        check(holder.post(f"/v1/carnets/{cid}/download", json={"pin": "482913"}), 200)
        check(holder.post(f"/v1/carnets/{cid}/signature", json={"signer": "Ingrid Berg"}), 200)
        travel = template["travels"][0] | {"status": "ready"}
        travel.pop("version", None)
        check(holder.post(f"/v1/carnets/{cid}/travels", json=travel), 201)
        console.print(
            "  travel 'Swiss documentary shoot': Norway → Sweden, Denmark, Germany (EU transit) → Switzerland"
        )

        day = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
        legs: list[tuple[str, str, int, str, dict[str, Any]]] = [
            ("activation", "NO01011A", 0, "all", {}),
            ("exportation", "NO02011B", 0, "1-4", {}),
            (
                "transit_start",
                "SE603340",
                0,
                "1-4",
                {
                    "transit": {
                        "office_of_destination": "DE004055",
                        "final_date": day(7),
                        "seals": ["NO-77120"],
                    }
                },
            ),
            ("transit_discharge", "DE004055", 2, "1-4", {}),
            ("importation", "CH001801", 2, "1-4", {"intended_place_of_use": "Lauterbrunnen valley, Bern"}),
            ("re_exportation", "CH002771", 15, "1-4", {}),
            ("re_importation", "NO01018C", 15, "1-4", {"not_processed_abroad": True}),
        ]
        for kind, office, offset, items, extra in legs:
            body = {
                "kind": kind,
                "territory": office[:2],
                "office": office,
                "date": day(offset),
                "items": items,
                "travel_id": travel["travel_id"],
                "declared_by": "Ingrid Berg",
                **extra,
            }
            tx = check(holder.post(f"/v1/carnets/{cid}/transactions", json=body), 201).json()
            fallback = kind == "re_exportation"
            if fallback:
                step("Switzerland's national system goes down as the crew leaves from Zurich airport")
                self.ch_sim.set_faults("http_5xx")
            self.declare(holder, cid, tx, office)
            outcome = self.wait(
                holder, tx["transaction_id"], ("committed", "rejected", "paper_fallback", "held")
            )
            if outcome["kind"] == "paper_fallback":
                self.paper_fallback(cid, tx, outcome, ch_customs)
                self.ch_sim.set_faults("none")
            elif outcome["kind"] != "committed":
                console.print(f"  [red]{kind} {outcome['kind']}: {outcome['detail']}[/red]")
                return False
        home = self.show_ledger(holder, cid)
        return home and self.guarantee_chain(holder, cid)

    def guarantee_chain(self, holder: httpx.Client, cid: str) -> bool:
        """The chain's side: the carnet's life-cycle notice, and a Swiss claim closed by the gateway's proof."""
        from devtools.chain_demo import demo_flow
        from gateway.model import load_document

        step("Guarantee chain: the issuing association's notice, and a Swiss claim answered from the log")
        console.print(
            "  (Swiss customs, whose system was down for the re-export, later claim the duties on items 1-2;\n"
            "   the claim's dates are simulated: notified 15 days after expiry, answered 16 days later)"
        )
        doc = load_document(check(holder.get(f"/v1/carnets/{cid}"), 200).content)
        out = demo_flow(self.amqp_url, self.state / "chain.db", self.state / "chain-keys", doc=doc)
        for m in out["messages"]:
            console.print(f"  ⇄ {m['kind']:<15} {m['from']:>10} → {m['to']:<10} signed, ack: {m['ack']}")
        claim = out["claim"]
        console.print(
            f"  claim {claim['claim_id']}: {' → '.join(claim['route'])}; proof assembled from "
            f"{', '.join(claim['proof'])} ({', '.join(claim['articles'])}); "
            f"state {claim['state']} ({claim['status']}), regularisation fee: {claim['regularisation_fee']}"
        )
        closed = claim["state"] == "closed" and out["pending"] == 0
        if closed:
            console.print(
                "[bold green]The claim is closed by the gateway's own proof; nothing unacknowledged.[/bold green]"
            )
        return closed

    def declare(self, holder: httpx.Client, cid: str, tx: dict[str, Any], office: str) -> None:
        from gateway.adapters import registry
        from gateway.adapters.delivery import encode_for
        from gateway.messages import declaration_for
        from gateway.model import load_document

        doc = load_document(check(holder.get(f"/v1/carnets/{cid}"), 200).content)
        index = next(i for i, t in enumerate(doc.transactions) if t.transaction_id == tx["transaction_id"])
        adapter = registry.get(tx["territory"])
        signed = encode_for(adapter, declaration_for(doc, index, "EATA-PREVIEW")).decode()
        lines = [ln for ln in signed.replace("><", ">\n<").splitlines() if ln.strip()]
        dialect = adapter.dialect(tx["kind"])
        console.print(
            f"\n  [bold]{tx['kind']}[/bold] at {office} ({adapter.name}, {adapter.national_system}, "
            f"{adapter.transport.upper()} {adapter.soap_version if adapter.transport == 'soap' else ''}) "
            f"— code {tx['transaction_code']}"
        )
        console.print(
            f"  → signed {dialect} message, {len(signed)} bytes: [dim]{' '.join(lines[:3])[:150]}…"
            f"{next((ln for ln in lines if 'SignatureValue' in ln), '')[:60]}…[/dim]"
        )
        tracking = check(
            holder.post(f"/v1/carnets/{cid}/transactions/{tx['transaction_id']}/submit"), 202
        ).json()
        console.print(
            f"  → accepted by the gateway (202, tracking {tracking['tracking_id'][:12]}…), relayed over RabbitMQ"
        )

    def wait(
        self, holder: httpx.Client, transaction_id: str, kinds: tuple[str, ...], timeout: float = 90
    ) -> dict[str, Any]:
        deadline, after = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            for e in check(holder.get("/v1/events", params={"after": after}), 200).json():
                after = e["id"]
                if e["transaction_id"] != transaction_id:
                    continue
                if e["kind"] == "committed":
                    d = e["detail"]
                    final = f", final date {d['final_date']}" if d.get("final_date") else ""
                    seals = ", seals intact" if d.get("seals_intact") else ""
                    # NCTS answers carry no officer or place (IE025): say only what customs said
                    who = f" by {d['officer']}" if d.get("officer") else ""
                    console.print(
                        f"  ← [green]committed[/green]{who} at {d.get('place') or d['office']}: "
                        f"reference {d['reference']}{final}{seals}"
                    )
                elif e["kind"] in ("rejected", "paper_fallback", "held"):
                    console.print(
                        f"  ← [yellow]{e['kind']}[/yellow]: {e['detail'].get('reason') or e['detail']}"
                    )
                if e["kind"] in kinds:
                    return e
            time.sleep(0.2)
        raise TimeoutError(f"no answer for {transaction_id} within {timeout:.0f} s")

    def paper_fallback(
        self, cid: str, tx: dict[str, Any], event: dict[str, Any], customs: httpx.Client
    ) -> None:
        from gateway.model import load_document
        from gateway.paper import render_voucher

        detail = event["detail"]
        console.print(f"  grace policy: {detail['explanation']}")
        for line in detail["instructions"]:
            console.print(f"   • {line}")
        doc = load_document(self.runtime.db.carnet(cid).doc.model_dump_json(by_alias=True))
        index = next(i for i, t in enumerate(doc.transactions) if t.transaction_id == tx["transaction_id"])
        pdf = self.state / f"voucher-{tx['kind']}-{tx['transaction_code']}.pdf"
        pdf.write_bytes(render_voucher(doc, index, fallback_reason="Swiss customs system unavailable"))
        console.print(f"  printed the white re-exportation voucher: {pdf} ({pdf.stat().st_size // 1024} KiB)")
        stamp = {
            "office": tx["office"],
            "place": "Zürich-Flughafen",
            "at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "reference": "CH-PAPER-0001",
            "officer": "Officer Meier",
            "remarks": "paper voucher stamped (grace period)",
        }
        check(
            customs.post(
                f"/v1/customs/transactions/{cid}/{tx['transaction_id']}/paper-endorsement", json=stamp
            ),
            200,
        )
        console.print(
            "  ← [green]paper endorsement recorded[/green] by Swiss customs: the ledger stays whole"
        )

    def show_ledger(self, holder: httpx.Client, cid: str) -> bool:
        from gateway.model import load_document
        from gateway.rules import judge

        doc = load_document(check(holder.get(f"/v1/carnets/{cid}"), 200).content)
        ledger = judge(doc)
        step(f"Ledger of carnet {cid}")
        table = Table()
        for col in ("item", "description", "where", "since", "last voucher"):
            table.add_column(col)
        for p in sorted(ledger.positions.values(), key=lambda p: p.item):
            table.add_row(
                str(p.item),
                doc.carnet.items_by_number[p.item].description,
                p.where.value,
                str(p.since or ""),
                p.under or "",
            )
        console.print(table)
        kinds = [t.kind.value for t in doc.transactions if t.state.value == "committed"]
        console.print(f"  committed vouchers: {', '.join(kinds)}")
        if ledger.all_home():
            console.print("[bold green]Every item is home. Journey complete.[/bold green]")
        return ledger.all_home()


def check(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} → {response.status_code}: {response.text[:400]}"
        )
    return response


def keep_console(demo: Demo) -> None:
    """``make demo KEEP=1``: leave everything running, with the console open to an operator and an
    auditor, until Ctrl-C."""
    db = demo.runtime.db
    _, operator_key = db.add_party("operator", "Demo operator")
    _, auditor_key = db.add_party("auditor", "Demo auditor")
    step("The gateway keeps running: open the operator console")
    console.print(f"  console  {demo.url}/console   (API docs at {demo.url}/docs)")
    console.print(f"  operator key  {operator_key}")
    console.print(f"  auditor key   {auditor_key}   (reads the XML documents too)")
    console.print("  Ctrl-C stops everything.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print()


def main() -> None:
    keep = "--keep" in sys.argv[1:] or os.environ.get("KEEP", "") not in ("", "0")
    state = Path(os.environ.get("EATA_DEMO_DIR") or tempfile.mkdtemp(prefix="eata-demo-"))
    state.mkdir(parents=True, exist_ok=True)
    demo = Demo(state)
    ok = False
    try:
        demo.start()
        ok = demo.play()
        if keep:
            keep_console(demo)
    finally:
        step("Stopping everything the demo started")
        demo.stop()
        console.print(f"  state kept in {state}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
