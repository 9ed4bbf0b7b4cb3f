"""Reports of a run: the territory × scenario matrix (terminal), JUnit XML (CI), JSON (machines), HTML (people).

The HTML report is one self-contained file (inline CSS, no scripts or external assets) that links to the
evidence files beside it and quotes the start of each answer inline, so it can be handed in as a folder.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from lxml import etree
from rich import box
from rich.console import Console
from rich.table import Table

from conformance.runner.results import ERROR, FAILED, PASSED, SKIPPED, CaseResult, SuiteResult
from gateway.errors import TITLES

MARK = {PASSED: "✓", FAILED: "✗", ERROR: "!", SKIPPED: "–"}
STYLE = {PASSED: "green", FAILED: "bold red", ERROR: "bold magenta", SKIPPED: "dim"}
EXCERPT = 1200  # characters of an evidence file quoted inline in the HTML report


def matrix(result: SuiteResult) -> Table:
    """Rows: territories; columns: scenarios by number (legend in the caption); ✓ pass, ✗ fail,
    ! runner error, – not applicable or skipped. Territories as rows keep 30 of them readable in 80 columns."""
    legend = ", ".join(f"{n} {s}" for n, s in enumerate(result.scenarios, start=1))
    table = Table(
        title=f"eATA conformance — {result.target}",
        caption=legend,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
        collapse_padding=True,
    )
    table.add_column("", no_wrap=True)
    for n, _ in enumerate(result.scenarios, start=1):
        table.add_column(f"{n:>2}", justify="center", no_wrap=True, min_width=3)
    for code in result.territories:
        cells = []
        for scenario in result.scenarios:
            case = result.case(code, scenario)
            status = case.status if case else SKIPPED
            cells.append(f"[{STYLE[status]}]{MARK[status]}[/]")
        table.add_row(code, *cells)
    return table


def print_summary(result: SuiteResult, console: Console) -> None:
    console.print(matrix(result))
    counts = result.counts()
    console.print(
        f"{counts[PASSED]} passed, {counts[FAILED]} failed, {counts[ERROR]} errors, {counts[SKIPPED]} skipped "
        f"in {result.seconds:.1f} s — reports in {result.out_dir}",
        soft_wrap=True,
    )
    for case in result.failures():
        console.print(
            f"[red]✗ {case.territory} {case.scenario}[/]: {case.diagnosis}", highlight=False, soft_wrap=True
        )


def junit(result: SuiteResult) -> bytes:
    """One testsuite per territory, one testcase per scenario; a failure's message is its diagnosis."""
    root = etree.Element("testsuites", name="eata-conformance", time=f"{result.seconds:.3f}")
    for code in result.territories:
        cases = [c for c in result.cases if c.territory == code]
        suite = etree.SubElement(
            root,
            "testsuite",
            name=code,
            tests=str(len(cases)),
            failures=str(sum(c.status == FAILED for c in cases)),
            errors=str(sum(c.status == ERROR for c in cases)),
            skipped=str(sum(c.status == SKIPPED for c in cases)),
            time=f"{sum(c.seconds for c in cases):.3f}",
            timestamp=result.started,
        )
        for case in cases:
            tc = etree.SubElement(
                suite,
                "testcase",
                classname=f"conformance.{code}",
                name=case.scenario,
                time=f"{case.seconds:.3f}",
            )
            if case.status in (FAILED, ERROR):
                tag = "failure" if case.status == FAILED else "error"
                etree.SubElement(tc, tag, message=case.diagnosis or "", type=tag).text = _steps_text(case)
            elif case.status == SKIPPED:
                etree.SubElement(tc, "skipped", message=case.diagnosis or "not applicable")
            files = [f for s in case.steps for f in s.evidence]
            if files:
                etree.SubElement(tc, "system-out").text = "evidence:\n" + "\n".join(files)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _steps_text(case: CaseResult) -> str:
    return "\n".join(
        f"step {s.index} {s.kind} at {s.office} ({s.message_id}): expected {s.expect}; "
        f"observed {s.observed.outcome}{f' {s.observed.code}' if s.observed.code else ''}"
        + (f" — {s.diagnosis}" if s.diagnosis else "")
        for s in case.steps
    )


def to_json(result: SuiteResult) -> str:
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2433}
h1{font-size:1.5rem;margin:0 0 .3rem} h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse} td,th{border:1px solid #d5d9e2;padding:.2rem .45rem;text-align:center}
th.s,td.s{text-align:left;white-space:nowrap} .passed{background:#e3f6e8;color:#17692f}
.failed{background:#fde2e1;color:#a1140e;font-weight:bold} .error{background:#f4e1fa;color:#6d1b86}
.skipped{color:#8a93a6} .meta td{text-align:left;border:none;padding:.1rem .8rem .1rem 0}
details{margin:.3rem 0;border:1px solid #d5d9e2;border-radius:4px;padding:.3rem .6rem}
details.failed,details.error{border-color:#a1140e} summary{cursor:pointer}
pre{background:#f5f6f8;padding:.5rem;overflow:auto;max-height:18rem;font-size:12px}
.diag{color:#a1140e} .codes td{text-align:left}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _excerpt(out_dir: Path, rel: str) -> str:
    try:
        data = (out_dir / rel).read_bytes()[:EXCERPT]
    except OSError:
        return "(missing)"
    return data.decode("utf-8", "replace")


def to_html(result: SuiteResult) -> str:
    out_dir = Path(result.out_dir)
    counts = result.counts()
    head = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>eATA conformance — {_e(result.target)}</title><style>{_CSS}</style></head><body>",
        f"<h1>eATA conformance report — {'PASSED' if result.ok else 'FAILED'}</h1>",
        "<table class='meta'>",
        f"<tr><td>target</td><td>{_e(result.target)}</td></tr>",
        f"<tr><td>started / finished (UTC)</td><td>{_e(result.started)} / {_e(result.finished)}</td></tr>",
        f"<tr><td>duration</td><td>{result.seconds:.1f} s</td></tr>",
        f"<tr><td>gateway version</td><td>{_e(result.gateway_version)}</td></tr>",
        f"<tr><td>python version</td><td>{_e(result.python_version)}</td></tr>",
        f"<tr><td>simulator fault profile</td><td>{_e(result.faults or 'none')}</td></tr>",
        f"<tr><td>cases</td><td>{counts[PASSED]} passed, {counts[FAILED]} failed, {counts[ERROR]} errors, "
        f"{counts[SKIPPED]} skipped</td></tr></table>",
    ]
    grid = ["<h2>Territory × scenario</h2><table><tr><th class='s'>scenario</th>"]
    grid += [f"<th>{_e(c)}</th>" for c in result.territories] + ["</tr>"]
    for scenario in result.scenarios:
        grid.append(f"<tr><td class='s'>{_e(scenario)}</td>")
        for code in result.territories:
            case = result.case(code, scenario)
            status = case.status if case else SKIPPED
            link = f"<a href='#{_e(code)}-{_e(scenario)}'>{MARK[status]}</a>" if case else MARK[status]
            title = _e(case.diagnosis or status) if case else "not applicable"
            grid.append(f"<td class='{status}' title='{title}'>{link}</td>")
        grid.append("</tr>")
    grid.append("</table>")
    seen_codes = sorted({code for c in result.cases for code in c.codes})
    codes = ["<h2>Error codes seen</h2><table class='codes'><tr><th>code</th><th>meaning</th></tr>"]
    codes += [f"<tr><td>{n}</td><td>{_e(TITLES.get(n, '?'))}</td></tr>" for n in seen_codes] + ["</table>"]
    body = ["<h2>Cases</h2>"]
    for case in result.cases:
        body.append(
            f"<details id='{_e(case.territory)}-{_e(case.scenario)}' class='{case.status}'"
            f"{' open' if case.status in (FAILED, ERROR) else ''}><summary>{MARK[case.status]} "
            f"<b>{_e(case.territory)}</b> {_e(case.scenario)} — {_e(case.title)} "
            f"<small>({_e(case.started)}, {case.seconds:.2f} s)</small></summary>"
        )
        if case.diagnosis:
            body.append(f"<p class='diag'>{_e(case.diagnosis)}</p>")
        for s in case.steps:
            seen = s.observed
            code = f" {seen.code} ({_e(TITLES.get(seen.code, '?'))})" if seen.code else ""
            body.append(
                f"<p>step {s.index} <b>{_e(s.kind)}</b> to {_e(s.territory)} at {_e(s.office)}, message "
                f"{_e(s.message_id)}, {_e(s.at)}: expected {_e(s.expect)}, observed <b>{_e(seen.outcome)}"
                f"{code}</b>{' at ' + _e(seen.pointer) if seen.pointer else ''}"
                f"{' — ' + _e(seen.detail) if seen.detail else ''}</p>"
            )
            if s.diagnosis:
                body.append(f"<p class='diag'>{_e(s.diagnosis)}</p>")
            links = " · ".join(f"<a href='{_e(f)}'>{_e(Path(f).name)}</a>" for f in s.evidence)
            if links:
                body.append(f"<p><small>evidence: {links}</small></p>")
            answers = [f for f in s.evidence if Path(f).name.startswith("answer")]
            responses = [f for f in s.evidence if f.endswith("-response.txt")]
            quote = answers[:1] or responses[-1:]
            for f in quote:
                body.append(f"<pre>{_e(_excerpt(out_dir, f))}</pre>")
        body.append("</details>")
    return "".join(head + grid + codes + body + ["</body></html>"])


def write_reports(result: SuiteResult) -> dict[str, Path]:
    """junit.xml, results.json and report.html in the out dir; returns their paths."""
    out = Path(result.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"junit": out / "junit.xml", "json": out / "results.json", "html": out / "report.html"}
    paths["junit"].write_bytes(junit(result))
    paths["json"].write_text(to_json(result), encoding="utf-8")
    paths["html"].write_text(to_html(result), encoding="utf-8")
    return paths
