"""``conformance run``: every scenario against every territory's simulator, or against one real endpoint.

Exit code 0 when every case passed (or was not applicable), 1 when a case failed, 2 when the run could not
be set up (bad scenario file, unknown territory, missing key).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.app import app
from gateway.cli.output import EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE, console, err_console

conformance_app = typer.Typer(help="Conformance suite: scenarios × territories, with reports to hand in.")
app.add_typer(conformance_app, name="conformance")


def _event(data: dict[str, object]) -> None:
    print(json.dumps(data), flush=True)  # one line each, flushed: the console reads them as they come


def _codes(value: str) -> list[str] | None:
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    return None if not codes or codes == ["ALL"] else codes


@conformance_app.command("run")
def run(
    territory: Annotated[str, typer.Option(help="ALL or territory codes, e.g. GB,NO,CH")] = "ALL",
    scenario: Annotated[str, typer.Option(help="Scenario ids, comma-separated (default: all)")] = "",
    endpoint: Annotated[
        str | None, typer.Option(help="A real national endpoint (one territory) instead of the simulators")
    ] = None,
    client_cert: Annotated[Path | None, typer.Option(help="PEM client certificate for mTLS")] = None,
    client_key: Annotated[Path | None, typer.Option(help="PEM key of the client certificate")] = None,
    trust: Annotated[
        Path | None,
        typer.Option(
            help="PEM: the CA vouching for the national signer, or the signer's own certificate (pinned)"
        ),
    ] = None,
    signer: Annotated[
        Path | None, typer.Option(help="PEM certificate of the national signer, when --trust names a CA")
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for reports and evidence")] = Path(
        "conformance-report"
    ),
    faults: Annotated[
        str, typer.Option(help="Simulator fault profile for the whole run, e.g. nonconforming")
    ] = "",
    workers: Annotated[int, typer.Option(min=1, help="Territories played in parallel")] = 30,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
    events: Annotated[
        bool,
        typer.Option(
            help="JSON lines on stdout instead of the summary: the planned total, then each case as it ends"
        ),
    ] = False,
) -> None:
    """Play the scenarios and write junit.xml, results.json, report.html and evidence/ under --out.

    ``--events`` is what the operator console reads: it runs the suite as a process of its own (the
    runtime imports no tool package) and follows it by these lines."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from conformance.runner import Options, ScenarioError, load_scenarios, run_suite
    from conformance.runner.reports import print_summary, write_reports
    from conformance.runner.results import CaseResult
    from conformance.runner.runner import plan
    from conformance.simulators.faults import parse
    from gateway.adapters import registry
    from gateway.errors import Refusal

    options = Options(
        territories=_codes(territory),
        scenarios=[s.strip() for s in scenario.split(",") if s.strip()] or None,
        out_dir=out,
        faults=faults,
        workers=workers,
        endpoint=endpoint,
        client_cert=client_cert,
        client_key=client_key,
        trust=trust,
        signer=signer,
    )
    try:
        if faults and endpoint:
            raise ValueError("--faults applies to the simulators, not to a real --endpoint")
        parse(faults)
        total = len(
            plan(
                load_scenarios(options.scenarios_dir, options.scenarios),
                options.territories or registry.codes(),
            )
        )
        bar = Progress(
            TextColumn("[bold]conformance"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err_console,
            disable=not progress,
            transient=True,
        )
        if events:
            _event({"total": total})
        with bar:
            task = bar.add_task("", total=total)

            def ended(case: CaseResult) -> None:
                bar.update(task, advance=1, description=f"{case.territory} {case.scenario}")
                if events:
                    _event({"territory": case.territory, "scenario": case.scenario, "status": case.status})

            result = run_suite(options, ended)
    except (ScenarioError, ValueError, Refusal, OSError) as exc:
        err_console.print(f"[red]conformance run not started:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    write_reports(result)
    if not events:
        print_summary(result, console)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_REFUSED)
