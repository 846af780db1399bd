"""A test host of its own: private mount, network and PID namespaces on this machine, and
the real OpenSSH sshd inside them.

Snapshot tests make real changes (a listener, a mount, an address, a package, a new SSH
host key) and must find exactly those in the diff; but this machine's own listeners,
processes and packages move with every other test and every other run on it. The sandbox
is this machine's kernel and file systems with its own:

- network: only `lo` (up), nothing listening but what the test starts;
- processes: a PID namespace with its own /proc, so `ps` and psutil see only the processes
  started in it (its init is `sleep`);
- mounts: /sys remounted (so /sys/class/net is this network namespace's), /etc/ssh an
  empty tmpfs (the sandbox sshd's host keys, which the facts read from there),
  /var/lib/dpkg an overlay whose writes stay in the sandbox (dpkg installs and removes
  packages for real; this machine's package database is untouched) and /var/log a tmpfs
  (dpkg's log). The tmpfs and overlay sources are no /dev paths: the facts leave them out.

Every command enters all three with `nsenter`; killing the sandbox's init ends every
process in it and frees its mounts. Needs root and util-linux's unshare and nsenter, and
iproute2's ip: missing ones, or a kernel or container that refuses the namespaces, fail
the test under CI and skip it elsewhere (`missing`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.realservers.base import (
    HOST,
    POLL_SECONDS,
    READY_TIMEOUT_SECONDS,
    STOP_GRACE_SECONDS,
    RunningServer,
    ServerStartError,
    log_tail,
    make_temp_dir,
    missing,
    owns_port,
    pid_alive,
    require_binary,
    require_root,
)
from tests.realservers.sshd import (
    CONFIG,
    SSH_KEYGEN,
    SSHD,
    USERNAME,
    SshServer,
    fingerprint,
    keygen,
    require_user,
)

# The sandbox's init: its mounts, then `sleep` as PID 1 until it is killed. DPKG is a
# directory of the sandbox's temp dir (the overlay's upper and work dirs, on a tmpfs).
INIT = """set -e
mount -t sysfs pltest-sys /sys
ip link set lo up
mount -t tmpfs -o size=4m,mode=0755 pltest-ssh /etc/ssh
mount -t tmpfs -o size=64m,mode=0700 pltest-dpkg {dpkg}
mkdir {dpkg}/upper {dpkg}/work
mount -t overlay pltest-dpkg \
  -o lowerdir=/var/lib/dpkg,upperdir={dpkg}/upper,workdir={dpkg}/work /var/lib/dpkg
mount -t tmpfs -o size=16m pltest-log /var/log
echo ready
exec sleep infinity
"""
SSH_PORT = 2222  # the sandbox has its own ports: never taken by anything else
HOST_KEY = "/etc/ssh/ssh_host_ed25519_key"  # where the facts read the host keys


@dataclass
class SandboxProcess:
    """A process started in the sandbox. `nsenter` forks it into the PID namespace: `pid`
    is the process itself (as this machine numbers it), `nsenter` its parent here."""

    pid: int
    nsenter: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.nsenter.poll() is None and pid_alive(self.pid)

    def stop(self) -> None:
        """SIGTERM, wait up to ~5 s, then SIGKILL; nsenter exits with it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        try:
            self.nsenter.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.nsenter.wait()
        _close(self.nsenter)


@dataclass
class Sandbox:
    """A running sandbox: `pid` is its init's PID on this machine, `dir` its temp dir."""

    pid: int
    dir: Path
    unshare: subprocess.Popen[bytes]
    started: list[SandboxProcess] = field(default_factory=list)

    def argv(self, command: tuple[str, ...]) -> list[str]:
        """COMMAND as run inside: in the sandbox's mount, network and PID namespaces."""
        return ["nsenter", "-t", str(self.pid), "-m", "-n", "-p", "--", *command]

    def run(self, *command: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run COMMAND inside and wait: its exit status, stdout and stderr (as text)."""
        return subprocess.run(self.argv(command), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip

    def must(self, *command: str) -> str:
        """Run COMMAND inside; its stdout, or an error naming it with its stderr."""
        done = self.run(*command)
        if done.returncode != 0:
            raise RuntimeError(f"in the sandbox, {shlex.join(command)}: exit "
                               f"{done.returncode}: {done.stderr.strip()}")  # fmt: skip
        return done.stdout

    def start(self, *command: str, output: IO[bytes] | int | None = None) -> SandboxProcess:
        """Start COMMAND inside, in the background (OUTPUT: its stdout and stderr)."""
        nsenter = subprocess.Popen(self.argv(command), stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT if output else None)  # fmt: skip
        process = SandboxProcess(_forked_child(nsenter), nsenter)
        self.started.append(process)
        return process

    def path(self, inside: str) -> Path:
        """A path as the sandbox sees it (its own /etc/ssh), reachable from outside."""
        return Path(f"/proc/{self.pid}/root") / inside.lstrip("/")

    def stop(self) -> None:
        """Kill the init: the kernel kills every process of the PID namespace with it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.unshare.wait()
        _close(self.unshare)
        for process in self.started:
            process.nsenter.wait()
            _close(process.nsenter)
        _SANDBOXES.pop(id(self), None)
        shutil.rmtree(self.dir, ignore_errors=True)


def _close(process: subprocess.Popen[bytes]) -> None:
    """Close the pipe its output was read from, if any."""
    if process.stdout is not None:
        process.stdout.close()


def _forked_child(nsenter: subprocess.Popen[bytes]) -> int:
    """The PID of the process nsenter forked (it forks once to enter the PID namespace)."""
    children = Path(f"/proc/{nsenter.pid}/task/{nsenter.pid}/children")
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            found = children.read_text(encoding="ascii").split()
            if found:
                return int(found[0])
        if nsenter.poll() is not None:
            raise ServerStartError(f"nsenter exited ({nsenter.returncode}) before it forked")
        time.sleep(POLL_SECONDS)
    raise ServerStartError("nsenter did not fork within the deadline")


def _requirements() -> None:
    require_root("the sandbox (unshare, mount)")
    require_binary("unshare", "util-linux")
    require_binary("nsenter", "util-linux")
    require_binary("ip", "iproute2")


def start_sandbox() -> Sandbox:
    """Make the namespaces and mounts and wait until its init runs (module docstring)."""
    _requirements()
    directory = make_temp_dir("sandbox", 0o755)  # sshd reads authorized_keys as sshtest
    (directory / "dpkg").mkdir()
    script = INIT.format(dpkg=shlex.quote(str(directory / "dpkg")))
    argv = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
            "--propagation", "private", "--kill-child", "sh", "-c", script]  # fmt: skip
    with (directory / "init.log").open("wb") as log:
        unshare = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=log)  # fmt: skip
    assert unshare.stdout is not None
    if unshare.stdout.readline() != b"ready\n":
        unshare.wait()
        tail = log_tail(directory / "init.log")
        shutil.rmtree(directory, ignore_errors=True)
        missing(f"no private namespaces here (unshare --mount --net --pid, as root): {tail}")
    init = int(Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read_text().split()[0])
    sandbox = Sandbox(init, directory, unshare)
    _SANDBOXES[id(sandbox)] = sandbox
    return sandbox


@contextlib.contextmanager
def running_sandbox() -> Iterator[Sandbox]:
    sandbox = start_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


_SANDBOXES: dict[int, Sandbox] = {}


@atexit.register
def _stop_leftovers() -> None:
    for sandbox in list(_SANDBOXES.values()):
        sandbox.stop()


# --- its sshd -----------------------------------------------------------------------------


def _new_host_key(sandbox: Sandbox) -> str:
    """Replace the sandbox's host keys by a new Ed25519 one; its `TYPE BASE64` line."""
    for old in sandbox.path("/etc/ssh").glob("ssh_host_*"):
        old.unlink()
    return keygen(sandbox.path(HOST_KEY))


def _write_files(sandbox: Sandbox, directory: Path, port: int, host_line: str) -> None:
    """Client key, authorized_keys (0644 in the 0755 dir), known_hosts and sshd_config."""
    client_line = keygen(directory / "client_ed25519")
    (directory / "authorized_keys").write_text(client_line + "\n", encoding="ascii")
    (directory / "authorized_keys").chmod(0o644)
    (directory / "known_hosts").write_text(f"[{HOST}]:{port} {host_line}\n", encoding="ascii")
    config = CONFIG.format(port=port, host=HOST, dir=directory, host_keys=f"HostKey {HOST_KEY}\n")
    (directory / "sshd_config").write_text(config, encoding="ascii")
    sandbox.must(SSHD, "-t", "-f", str(directory / "sshd_config"))


def _run_sshd(sandbox: Sandbox, directory: Path, port: int, host_line: str) -> SshServer:
    """Start the sandbox's sshd in the foreground; wait until it listens."""
    log = directory / "sshd.log"
    with log.open("ab") as output:
        process = sandbox.start(SSHD, "-D", "-e", "-f", str(directory / "sshd_config"),
                                output=output)  # fmt: skip
    server = RunningServer("sshd in the sandbox", process.pid, HOST, port, directory, log)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not owns_port(process.pid, HOST, port):
        if not process.alive() or time.monotonic() > deadline:
            raise ServerStartError(f"sshd in the sandbox not listening: {log_tail(log)}")
        time.sleep(POLL_SECONDS)
    return SshServer(HOST, port, USERNAME, directory / "client_ed25519", host_line,
                     fingerprint(host_line), directory / "known_hosts", server,
                     {host_line.split(maxsplit=1)[0]: host_line})  # fmt: skip


def start_sshd_in(sandbox: Sandbox, port: int = SSH_PORT) -> SshServer:
    """The real sshd inside SANDBOX on PORT, its host key in the sandbox's /etc/ssh (where
    the facts read it), `sshtest` logging in with a client key; known_hosts has the key."""
    require_binary(SSHD, "openssh-server")
    require_binary(SSH_KEYGEN, "openssh-client")
    require_user()
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    directory = sandbox.dir / "sshd"
    directory.mkdir(mode=0o755)
    host_line = _new_host_key(sandbox)
    _write_files(sandbox, directory, port, host_line)
    return _run_sshd(sandbox, directory, port, host_line)


def rekey_sshd(sandbox: Sandbox, ssh: SshServer) -> SshServer:
    """Stop the sandbox's sshd, give it a new host key (as a reinstall does) and start it
    again on the same port. Its known_hosts file still holds the old key."""
    (process,) = [p for p in sandbox.started if p.pid == ssh.server.pid]
    process.stop()
    host_line = _new_host_key(sandbox)
    return _run_sshd(sandbox, ssh.server.dir, ssh.port, host_line)
