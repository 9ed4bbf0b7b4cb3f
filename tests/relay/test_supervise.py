"""The partition supervisor: children restarted with a growing pause, signals passed on (no broker)."""

from __future__ import annotations

import signal
import subprocess
import sys

SCRIPT = """
import sys
from gateway.relay.supervise import supervise
py = sys.executable
sys.exit(supervise({
    "steady": [py, "-c", "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); time.sleep(120)"],
    "broken": [py, "-c", "import sys; sys.exit(3)"],
}, poll=0.05))
"""


def test_a_child_failing_at_once_is_restarted_with_a_growing_pause_and_sigterm_reaches_all() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen: list[str] = []
    while len([line for line in seen if line.startswith("broken exited")]) < 2:  # two restarts announced
        line = proc.stderr.readline()
        assert line, f"supervisor ended early: {seen}"
        seen.append(line.strip())
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=60)[1]
    err = "\n".join(seen) + "\n" + rest
    lines = [line for line in err.splitlines() if line.startswith("broken exited with 3")]
    assert [line.rsplit(" in ", 1)[1] for line in lines[:2]] == ["2 s", "4 s"], err
    assert "steady exited" not in err  # the healthy child was left alone until the signal
    assert proc.returncode == 1  # one child had not stopped cleanly
