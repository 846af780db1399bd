"""OpenSSH sshd on 127.0.0.1, logging in the non-root user `sshtest` with an ed25519 key."""

from __future__ import annotations

import base64
import hashlib
import pwd
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.realservers.base import (
    RunningServer,
    free_port,
    make_temp_dir,
    missing,
    removed_on_error,
    require_binary,
    require_root,
    start_process,
    start_retrying,
)

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"
PACKAGE = "openssh-server"
USERNAME = "sshtest"

CONFIG = """\
Port {port}
ListenAddress {host}
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 200:30:400
MaxSessions 100
"""


@dataclass(frozen=True)
class SshServer:
    """What a test needs to log in to the running sshd."""

    host: str
    port: int
    username: str
    client_key_path: Path
    host_key_line: str
    host_key_fingerprint: str
    known_hosts_path: Path
    server: RunningServer


def require_user(name: str = USERNAME) -> None:
    """The login user must exist (scripts/test creates it when run as root)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        missing(
            f"user {name!r} does not exist: scripts/test (run as root) creates it, "
            f"or run: useradd -m -s /bin/bash {name} && usermod -p '*' {name}"
        )


def fingerprint(key_line: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line `TYPE BASE64 [comment]`."""
    blob = base64.b64decode(key_line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def _keygen(path: Path) -> str:
    """Make an ed25519 key pair at PATH; return the public line without the comment."""
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "pelihara-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    kind, blob = path.with_suffix(".pub").read_text(encoding="ascii").split()[:2]
    return f"{kind} {blob}"


def _write_files(directory: Path, port: int, extra_config: str) -> tuple[str, str]:
    """Keys, authorized_keys (0644 in the 0755 dir), known_hosts and sshd_config."""
    host_line = _keygen(directory / "host_ed25519")
    client_line = _keygen(directory / "client_ed25519")
    authorized = directory / "authorized_keys"
    authorized.write_text(client_line + "\n", encoding="ascii")
    authorized.chmod(0o644)
    known = directory / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_line}\n", encoding="ascii")
    config = CONFIG.format(port=port, host="127.0.0.1", dir=directory) + extra_config
    (directory / "sshd_config").write_text(config, encoding="ascii")
    return host_line, client_line


def _check_config(directory: Path) -> None:
    result = subprocess.run(
        [SSHD, "-t", "-f", str(directory / "sshd_config")],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"sshd -t rejected the config in {directory}: {result.stderr}")


def start_sshd(extra_config: str = "") -> SshServer:
    """Start sshd in the foreground on a free port; wait until it accepts TCP.
    EXTRA_CONFIG: more sshd_config lines (e.g. `SetEnv PATH=...` for the sessions)."""
    require_binary(SSHD, PACKAGE)
    require_binary(SSH_KEYGEN, "openssh-client")
    require_root("sshd")
    require_user()
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    # sshd reads authorized_keys as the user: a 0755 dir (pytest's tmp dirs are 0700)
    with removed_on_error(make_temp_dir("sshd", 0o755)) as directory:
        host_line, _ = _write_files(directory, port, extra_config)
        _check_config(directory)
        argv = [SSHD, "-D", "-e", "-f", str(directory / "sshd_config")]
        server = start_process("sshd", argv, port, directory, directory / "sshd.log")
        server.wait_ready(server.listening)
    return SshServer(
        host=server.host,
        port=port,
        username=USERNAME,
        client_key_path=directory / "client_ed25519",
        host_key_line=host_line,
        host_key_fingerprint=fingerprint(host_line),
        known_hosts_path=directory / "known_hosts",
        server=server,
    )


@contextmanager
def running_sshd(extra_config: str = "") -> Iterator[SshServer]:
    """A running sshd for the duration of the block."""
    ssh = start_retrying(lambda: start_sshd(extra_config))
    try:
        yield ssh
    finally:
        ssh.server.stop()
