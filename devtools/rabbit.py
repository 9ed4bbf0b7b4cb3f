"""Private RabbitMQ nodes for tests, benchmarks and the demo: own name, ports and data dir, never the system one."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TypedDict

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
_WRAPPED = "/usr/sbin/rabbitmq-server"


def rabbit_available() -> bool:
    """True when a rabbitmq-server install we can drive is present."""
    return os.path.exists(SERVER) and os.path.exists(CTL) and shutil.which("erl") is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _RunAs(TypedDict, total=False):
    """subprocess keywords that run the broker as its own user (empty when we already are that user)."""

    user: int
    group: int
    extra_groups: list[int]


class NodeError(RuntimeError):
    pass


class RabbitNode:
    """One rabbitmq-server node under ``data_dir``.

    Run as root, the node runs as the ``rabbitmq`` user (the Debian wrapper would do the same via ``su``,
    but then we could not see the beam pid); the Erlang cookie is that user's ``~/.erlang.cookie``, so
    ``rabbitmqctl`` is run as the same user with the same HOME.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        name: str = "eata",
        *,
        port: int | None = None,
        dist_port: int | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.nodename = f"{name}@localhost"
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.dist_port = dist_port or free_port()
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("rabbitmq")
            except KeyError:
                self._user = None

    # -- paths and environment ------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "mnesia" / f"{self.nodename}.pid"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        conf = self.data_dir / "rabbitmq.conf"
        env.update(
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.data_dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.data_dir / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.data_dir / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(conf),
            RABBITMQ_PID_FILE=str(self.pid_file),
            RABBITMQ_ALLOW_INPUT="",
        )
        if self._user is not None:
            env.update(HOME=self._user.pw_dir, USER="rabbitmq", LOGNAME="rabbitmq")
        return env

    def _prepare(self) -> None:
        for sub in ("mnesia", "log"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        plugins = self.data_dir / "enabled_plugins"
        if not plugins.exists():
            plugins.write_text("[rabbitmq_consistent_hash_exchange].\n")  # partitioned territories
        conf = self.data_dir / "rabbitmq.conf"
        if not conf.exists():
            # Small test machines: do not let the disk alarm block publishers; keep logs in files only.
            conf.write_text(
                "disk_free_limit.absolute = 5MB\n"
                "log.console = false\n"
                "log.file.level = warning\n"
                "loopback_users = none\n"
            )
        if self._user is not None:
            # The node runs as `rabbitmq`: it must be able to reach the dir (temp dirs are often 0700).
            for parent in self.data_dir.resolve().parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    os.chmod(parent, mode | stat.S_IXOTH)
            for root, dirs, files in os.walk(self.data_dir):
                for entry in (
                    root,
                    *(os.path.join(root, d) for d in dirs),
                    *(os.path.join(root, f) for f in files),
                ):
                    os.chown(entry, self._user.pw_uid, self._user.pw_gid)
            os.chown(self.data_dir, self._user.pw_uid, self._user.pw_gid)

    def _popen_user(self) -> _RunAs:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    # -- lifecycle ------------------------------------------------------------------------------
    def ctl(self, *args: str, timeout: float = 60.0, check: bool = True) -> str:
        """Run ``rabbitmqctl -n <node> args...`` as the node's user; return stdout."""
        cmd = [CTL, "-n", self.nodename, *args]
        res = subprocess.run(
            cmd,
            env=self._env(),
            cwd=str(self.data_dir),
            capture_output=True,
            timeout=timeout,
            **self._popen_user(),
        )
        if check and res.returncode != 0:
            raise NodeError(
                f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.decode(errors='replace')}"
            )
        return res.stdout.decode(errors="replace")

    def start(self, *, wait: bool = True) -> RabbitNode:
        if self.running:
            return self
        self._prepare()
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        log = open(self.data_dir / "server.out", "ab")  # noqa: SIM115 - the child holds it
        try:
            self._proc = subprocess.Popen(
                [SERVER],
                env=self._env(),
                cwd=str(self.data_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # our Ctrl-C / pytest signals must not reach the broker
                **self._popen_user(),
            )
        finally:
            log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise NodeError(
                    f"{self.nodename} exited with {self._proc.returncode}; see {self.data_dir}/server.out"
                )
            try:
                self.ctl("await_startup", "--timeout", "30", timeout=40)
                break
            except (NodeError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise NodeError(f"{self.nodename} did not start; see {self.data_dir}/log") from None
                time.sleep(0.5)
        # await_startup can return a hair before the listener accepts connections
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        raise NodeError(f"{self.nodename} never opened port {self.port}")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def beam_pid(self) -> int:
        """The Erlang VM's pid (from the pid file the node writes at boot)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError, ValueError):
                return int(self.pid_file.read_text().strip())
            time.sleep(0.1)
        raise NodeError(f"no pid file for {self.nodename}")

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful stop; falls back to kill when the node does not answer."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                self.ctl("stop", timeout=timeout)
                self._proc.wait(timeout=timeout)
            except (NodeError, subprocess.TimeoutExpired):
                self.kill()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the Erlang VM: a crash, for fault tests. Nothing is flushed or closed."""
        if self._proc is None:
            return
        with contextlib.suppress(NodeError, ProcessLookupError):
            os.kill(self.beam_pid(), signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=30)
        self._proc = None

    def restart(self, *, crash: bool = False) -> RabbitNode:
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start()

    def __enter__(self) -> RabbitNode:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class RabbitCluster:
    """Three (or n) private nodes joined into one cluster, for quorum-queue fault tests."""

    def __init__(self, data_dir: str | os.PathLike[str], size: int = 3, prefix: str = "eatac") -> None:
        base = Path(data_dir)
        self.nodes = [RabbitNode(base / f"n{i}", f"{prefix}{i}") for i in range(size)]

    @property
    def urls(self) -> Sequence[str]:
        return [n.url for n in self.nodes]

    def start(self) -> RabbitCluster:
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_ready()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.nodename)
            node.ctl("start_app")
            node.ctl("await_startup")
        return self

    def node_named(self, nodename: str) -> RabbitNode:
        for node in self.nodes:
            if node.nodename == nodename:
                return node
        raise KeyError(nodename)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()

    def __enter__(self) -> RabbitCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
