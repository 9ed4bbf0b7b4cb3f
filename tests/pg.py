"""A private PostgreSQL cluster for tests: ``initdb`` + ``pg_ctl`` from Debian's ``postgresql`` package, on a
free port, with its own data directory and unix socket directory in a temp dir, fsync off (speed; the data
is thrown away). Run as the ``postgres`` OS user when the tests run as root (PostgreSQL refuses root).

Each test gets a fresh database copied from a template at the schema's head (``CREATE DATABASE … TEMPLATE
…``: a file copy, a few milliseconds), dropped afterwards; ``create_database("template0")`` gives an empty one.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

TEMPLATE = "eata_template"


def pg_bindir() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/<v>/bin`` holding ``initdb``, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, bindir: Path | None = None) -> None:
        bindir = bindir or pg_bindir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL is not installed (apt-get install -y postgresql)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="eata-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "postgres.log"
        self.port = _free_port()
        self.user = "postgres"
        self._as_root = os.geteuid() == 0
        self.started = False

    # -- process ----------------------------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log}"
            )
        return done

    def start(self) -> PgCluster:
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            for p in (self.root, self.sockets):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--no-sync",
            "--locale=C.UTF-8",
        )  # fmt: skip
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.sockets}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=400",
                "-c shared_buffers=64MB",
            ]
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )
        self.started = True
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        from gateway.store.schema import prepare

        prepare(self.url(TEMPLATE))  # every test database starts at the schema's head
        return self

    def stop(self) -> None:
        try:
            if self.started:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            self.started = False
            shutil.rmtree(self.root, ignore_errors=True)

    # -- databases --------------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname=database, autocommit=True
        )

    def create_database(self, template: str = TEMPLATE) -> str:
        """A fresh database copied from ``template``; returns its name."""
        name = "t_" + uuid.uuid4().hex[:16]
        for attempt in range(50):  # the template may be in use by a connection closing right now
            try:
                with self.admin() as conn:
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return name
            except psycopg.errors.ObjectInUse:
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"template {template} stayed in use")

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
