"""Shared plumbing: free ports, missing binaries, a started server and its stop by PID."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

HOST = "127.0.0.1"
T = TypeVar("T")
STOP_GRACE_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 20.0
POLL_SECONDS = 0.02


class ServerStartError(RuntimeError):
    """A server did not become ready; the message carries its log tail."""


# What CI services set CI to: `true` (GitHub, GitLab), `1`, `yes`; any of them counts.
TRUE_VALUES = frozenset({"1", "true", "yes", "on", "y"})


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether CI is set to a true value (case-insensitive)."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() in TRUE_VALUES


def missing(message: str) -> None:
    """Fail under CI (`in_ci`), skip elsewhere: a needed binary, user or privilege is absent."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_binary(binary: str, package: str) -> str:
    """Path of BINARY (a name on PATH, or an absolute path), or fail/skip naming PACKAGE."""
    found = binary if os.path.isabs(binary) and os.access(binary, os.X_OK) else None
    found = found or shutil.which(binary)
    if found is None:
        missing(
            f"{binary} not found: install the Debian package {package} (apt-get install {package})"
        )
        raise AssertionError("unreachable")  # missing() always raises
    return found


def require_root(what: str) -> None:
    """The server needs root (switching users); fail/skip otherwise."""
    if os.geteuid() != 0:
        missing(f"{what} needs root: run the tests as root (scripts/test)")


def _port_is_free(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(tcp: bool = True, udp: bool = False) -> int:
    """A port on 127.0.0.1 that is free now for TCP and/or UDP (found by binding port 0)."""
    first = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    for _ in range(100):
        with socket.socket(socket.AF_INET, first) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if not (tcp and udp) or _port_is_free(port, socket.SOCK_DGRAM):
            return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


def make_temp_dir(name: str, mode: int = 0o700) -> Path:
    """A fresh temp dir named after the server (removed by `RunningServer.stop`)."""
    path = Path(tempfile.mkdtemp(prefix=f"pelihara-{name}-"))
    path.chmod(mode)
    return path


@contextlib.contextmanager
def removed_on_error(directory: Path) -> Iterator[Path]:
    """Remove DIRECTORY if the block raises (a server that failed to set up or start)."""
    try:
        yield directory
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def log_tail(path: Path | None, lines: int = 40) -> str:
    """The last LINES lines of a log file, or a note that there is none."""
    if path is None or not path.exists():
        return "(no log file)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(log is empty)"


def pid_alive(pid: int) -> bool:
    """True while PID exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return False
    return "\nState:\tZ" not in status


def tcp_accepts(host: str, port: int) -> bool:
    """True if a TCP connect to HOST:PORT succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_retrying(start: Callable[[], T], attempts: int = 3) -> T:
    """Call START again when its free port was taken in between (the port-0 race)."""
    for attempt in range(1, attempts + 1):
        try:
            return start()
        except ServerStartError as error:
            if attempt == attempts or "address already in use" not in str(error).lower():
                raise
    raise AssertionError("unreachable")


def http_get(url: str, timeout: float = 10.0) -> bytes:
    """GET URL directly (never through a proxy from the environment) and return the body."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return bytes(response.read())


def _hex_address(host: str, port: int) -> str:
    """`127.0.0.1`, 22 -> `0100007F:0016`, as in /proc/net/tcp (little-endian IPv4)."""
    address = "".join(f"{int(octet):02X}" for octet in reversed(host.split(".")))
    return f"{address}:{port:04X}"


def _bound_inodes(host: str, port: int, proto: str, pid: int) -> set[str]:
    """Socket inodes bound to HOST:PORT (TCP: listening only) in the network namespace of
    PID (/proc/PID/net/PROTO: a server in a namespace of its own has its own table)."""
    wanted = _hex_address(host, port)
    try:
        table = Path(f"/proc/{pid}/net/{proto}").read_text(encoding="ascii")
    except OSError:  # PID is gone (it exited before it was ready)
        return set()
    lines = table.splitlines()[1:]
    rows = [line.split() for line in lines]
    listen = "0A" if proto == "tcp" else "07"  # TCP_LISTEN; UDP sockets show TCP_CLOSE (07)
    return {row[9] for row in rows if row[1] == wanted and row[3] == listen}


def _socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets that PID holds open."""
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    return inodes


def owns_port(pid: int, host: str, port: int, proto: str = "tcp") -> bool:
    """True if process PID itself listens on HOST:PORT (not some other process on that port)."""
    bound = _bound_inodes(host, port, proto, pid)
    return bool(bound) and bool(bound & _socket_inodes(pid))


@dataclass
class RunningServer:
    """A started server process: stopped by PID, its temp dir removed afterwards."""

    name: str
    pid: int
    host: str
    port: int
    dir: Path
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    stop_argv: list[str] | None = None  # a graceful stop command tried before the signals
    stopped: bool = field(default=False, repr=False)

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return pid_alive(self.pid)

    def listening(self, proto: str = "tcp") -> bool:
        """True once this server's own process listens on its host and port."""
        return owns_port(self.pid, self.host, self.port, proto)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log, lines)

    def wait_ready(self, check: Callable[[], bool], timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Poll CHECK until true; on exit or deadline stop the server and raise with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not self.alive():
                self._fail(f"{self.name} exited before it was ready")
            time.sleep(POLL_SECONDS)
        self._fail(f"{self.name} not ready on {self.host}:{self.port} within {timeout:.0f} s")

    def _fail(self, message: str) -> None:
        tail = self.log_tail()
        self.stop()
        raise ServerStartError(f"{message}\n--- log tail ---\n{tail}")

    def stop(self, keep_dir: bool = False) -> None:
        """SIGTERM, wait up to ~5 s, then SIGKILL; then remove the temp dir (unless KEEP_DIR:
        a server started again on it)."""
        if not self.stopped:
            self.stopped = True
            _signal_and_wait(self)
            _RUNNING.pop(id(self), None)
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _signal_and_wait(server: RunningServer) -> None:
    children = descendants(server.pid)  # e.g. sshd's per-connection processes
    if server.stop_argv is not None and server.alive():
        _run_quietly(server.stop_argv, server.dir)
    if server.alive():
        _terminate(server)
    _reap(server)
    _kill_leftovers(children)


def _terminate(server: RunningServer) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGTERM)
    if _wait_gone(server, STOP_GRACE_SECONDS):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGKILL)
    _wait_gone(server, STOP_GRACE_SECONDS)


def _parent_pids() -> dict[int, int]:
    """PID -> parent PID of every process, from /proc/PID/stat."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """The PIDs of all processes below PID now (children, grandchildren, ...)."""
    parents = _parent_pids()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _kill_leftovers(pids: list[int]) -> None:
    """SIGKILL what is still running of PIDS once the server itself is gone."""
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _run_quietly(argv: list[str], cwd: Path) -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(argv, cwd=cwd, capture_output=True, timeout=30, check=False)


def _wait_gone(server: RunningServer, timeout: float) -> bool:
    if server.process is not None:
        try:
            server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while pid_alive(server.pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def _reap(server: RunningServer) -> None:
    if server.process is not None:
        server.process.wait()


_RUNNING: dict[int, RunningServer] = {}


def track(server: RunningServer) -> RunningServer:
    """Remember SERVER so that it is stopped at interpreter exit even if a teardown never ran."""
    _RUNNING[id(server)] = server
    return server


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING.values()):
        server.stop()


def start_process(
    name: str, argv: list[str], port: int, directory: Path, log: Path
) -> RunningServer:
    """Start ARGV in the foreground (stdout+stderr to LOG) and return it as a RunningServer."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=directory
        )
    server = RunningServer(
        name=name, pid=process.pid, host=HOST, port=port, dir=directory, log=log, process=process
    )
    return track(server)
