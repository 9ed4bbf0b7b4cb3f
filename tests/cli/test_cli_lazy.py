"""Cold start: the command line imports only the module of the command asked for (no timing here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer.main

import gateway.cli
from gateway.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "pika", "zeep", "fastapi", "uvicorn", "gateway.relay", "gateway.paper")


def _modules_after(*argv: str) -> list[str]:
    script = (
        "import json, sys\n"
        f"sys.argv = ['eata-gateway', *{list(argv)!r}]\n"
        "from gateway.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(r.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_table_is_what_the_modules_register() -> None:
    gateway.cli.load_all()
    group = typer.main.get_command(app)
    ctx = group.context_class(group)  # typer's own (vendored) click
    assert set(gateway.cli.COMMANDS) == set(group.list_commands(ctx))
    for info in app.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")
        module = info.callback.__module__
        own = module.rsplit(".", 1)[1] if module.startswith("gateway.cli.") else module
        assert gateway.cli.COMMANDS[name][0] == own, name
    for name, (_module, short) in gateway.cli.COMMANDS.items():
        command = group.get_command(ctx, name)
        assert command is not None and (command.help or "").strip().startswith(short.rstrip(".")), name


def test_top_level_help_imports_no_command_module() -> None:
    loaded = _modules_after("--help")
    assert [m for m in loaded if m.startswith("gateway.cli.")] == ["gateway.cli.app"]
    assert not [m for m in loaded if m.startswith(HEAVY)]


def test_translate_imports_only_what_it_uses(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "journey-no-eu-ch.json")
    loaded = _modules_after("translate", example, "-t", "CH", "--kind", "importation")
    assert "gateway.cli.translate" in loaded and "gateway.translate" in loaded
    assert not [m for m in loaded if m.startswith(("gateway.cli.relay", "gateway.cli.serve", *HEAVY))]


def test_a_lazily_loaded_command_still_runs_as_a_subcommand() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "gateway", "translate", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0 and "translate [OPTIONS]" in r.stdout
    r = subprocess.run([sys.executable, "-m", "gateway", "nosuch"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "nosuch" in r.stderr
