"""OpenSSH sshd on 127.0.0.1, logging in the non-root user `sshtest` with an ed25519 key.

Host keys of the types asked for (by default Ed25519 only; Debian and RHEL generate RSA,
ECDSA and Ed25519), optionally with a host certificate; and OpenSSH's own client as the
referee of what a known_hosts file lets in (`openssh_accepts`)."""

from __future__ import annotations

import base64
import hashlib
import pwd
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
{host_keys}PidFile {dir}/sshd.pid
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
    host_key_line: str  # the first host key's `TYPE BASE64`
    host_key_fingerprint: str
    known_hosts_path: Path
    server: RunningServer
    host_key_lines: dict[str, str] = field(default_factory=dict)  # SSH key type -> line

    @property
    def known_hosts_name(self) -> str:
        return f"[{self.host}]:{self.port}"


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


def keygen(path: Path, kind: str = "ed25519") -> str:
    """Make a key pair of KIND (ed25519, ecdsa, rsa) at PATH; return the public line
    `TYPE BASE64` without the comment."""
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", "pelihara-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return public_line(path.with_name(path.name + ".pub"))


def public_line(path: Path) -> str:
    """`TYPE BASE64` of the public key (or certificate) file PATH."""
    kind, blob = path.read_text(encoding="ascii").split()[:2]
    return f"{kind} {blob}"


def _host_keys(directory: Path, kinds: tuple[str, ...], ca: Path | None) -> tuple[str, str]:
    """The host keys (the first one certified by CA, if given): their sshd_config lines."""
    config = ""
    for kind in kinds:
        keygen(directory / f"host_{kind}", kind)
        config += f"HostKey {directory}/host_{kind}\n"
    if ca is not None:
        first = directory / f"host_{kinds[0]}.pub"
        argv = [SSH_KEYGEN, "-q", "-s", str(ca), "-I", "pelihara-test", "-h", "-n", "127.0.0.1"]
        subprocess.run([*argv, str(first)], check=True, capture_output=True)
        config += f"HostCertificate {directory}/host_{kinds[0]}-cert.pub\n"
    return config, public_line(directory / f"host_{kinds[0]}.pub")


def _write_files(
    directory: Path, port: int, extra_config: str, kinds: tuple[str, ...], ca: Path | None
) -> str:
    """Keys, authorized_keys (0644 in the 0755 dir), known_hosts (the first host key) and
    sshd_config; the first host key's line."""
    host_keys, host_line = _host_keys(directory, kinds, ca)
    client_line = keygen(directory / "client_ed25519")
    authorized = directory / "authorized_keys"
    authorized.write_text(client_line + "\n", encoding="ascii")
    authorized.chmod(0o644)
    known = directory / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_line}\n", encoding="ascii")
    config = CONFIG.format(port=port, host="127.0.0.1", dir=directory, host_keys=host_keys)
    (directory / "sshd_config").write_text(config + extra_config, encoding="ascii")
    return host_line


def _check_config(directory: Path) -> None:
    result = subprocess.run(
        [SSHD, "-t", "-f", str(directory / "sshd_config")],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"sshd -t rejected the config in {directory}: {result.stderr}")


def start_sshd(
    extra_config: str = "", host_keys: tuple[str, ...] = ("ed25519",), ca: Path | None = None
) -> SshServer:
    """Start sshd in the foreground on a free port; wait until it accepts TCP.
    EXTRA_CONFIG: more sshd_config lines (e.g. `SetEnv PATH=...` for the sessions); HOST_KEYS:
    the kinds of host key, the first one certified by the private key CA if given."""
    require_binary(SSHD, PACKAGE)
    require_binary(SSH_KEYGEN, "openssh-client")
    require_root("sshd")
    require_user()
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    # sshd reads authorized_keys as the user: a 0755 dir (pytest's tmp dirs are 0700)
    with removed_on_error(make_temp_dir("sshd", 0o755)) as directory:
        host_line = _write_files(directory, port, extra_config, host_keys, ca)
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
        host_key_lines={
            line.split()[0]: line
            for line in (public_line(directory / f"host_{kind}.pub") for kind in host_keys)
        },
    )


@contextmanager
def running_sshd(
    extra_config: str = "", host_keys: tuple[str, ...] = ("ed25519",), ca: Path | None = None
) -> Iterator[SshServer]:
    """A running sshd for the duration of the block (arguments: `start_sshd`)."""
    ssh = start_retrying(lambda: start_sshd(extra_config, host_keys, ca))
    try:
        yield ssh
    finally:
        ssh.server.stop()


def openssh_accepts(ssh: SshServer, known_hosts: Path) -> tuple[bool, str]:
    """Whether OpenSSH's own client, strict and with KNOWN_HOSTS only, logs in and runs
    `true`; and what it said. Nothing of the user's ssh configuration is read or written."""
    ssh_client = require_binary("ssh", "openssh-client")
    argv = [ssh_client, "-F", "/dev/null", "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "UpdateHostKeys=no", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=10", "-i", str(ssh.client_key_path), "-p", str(ssh.port),
            f"{ssh.username}@{ssh.host}", "true"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return done.returncode == 0, done.stderr
