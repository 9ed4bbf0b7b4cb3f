"""The main job: play a full carnet journey and show its ledger (grows with each capability)."""

from __future__ import annotations

from gateway.cli import app
from gateway.resources import data_dir


def main() -> None:
    journey = str(data_dir("examples") / "journey-no-eu-ch.json")
    for args in (["validate", journey], ["ledger", journey]):
        try:
            app(args, standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise


if __name__ == "__main__":
    main()
