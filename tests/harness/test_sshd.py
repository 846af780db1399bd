"""The sshd fixture: key login as `sshtest` with a strict host key check (paramiko)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import paramiko
import pytest

from tests.realservers.base import require_binary
from tests.realservers.sshd import SshServer


def _client(known_hosts: Path) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def _connect(client: paramiko.SSHClient, ssh: SshServer) -> None:
    client.connect(
        ssh.host,
        port=ssh.port,
        username=ssh.username,
        key_filename=str(ssh.client_key_path),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )


def _run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    _, stdout, _ = client.exec_command(command, timeout=10)
    output = stdout.read().decode()
    return stdout.channel.recv_exit_status(), output


def test_key_login_and_exec(sshd_server: SshServer) -> None:
    client = _client(sshd_server.known_hosts_path)
    try:
        _connect(client, sshd_server)
        assert _run(client, "echo hello from $(whoami)") == (0, "hello from sshtest\n")
        status, hostname = _run(client, "hostname")
        assert status == 0
        assert hostname.strip()
        transport = client.get_transport()
        assert transport is not None
        key = transport.get_remote_server_key()
        assert f"{key.get_name()} {key.get_base64()}" == sshd_server.host_key_line
        assert key.fingerprint == sshd_server.host_key_fingerprint
    finally:
        client.close()


def test_unknown_host_key_is_refused(sshd_server: SshServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    client = _client(empty)
    try:
        with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
            _connect(client, sshd_server)
    finally:
        client.close()


def test_changed_host_key_is_refused(sshd_server: SshServer, tmp_path: Path) -> None:
    other = paramiko.Ed25519Key.from_private_key_file(str(sshd_server.client_key_path))
    wrong = tmp_path / "known_hosts"
    wrong.write_text(
        f"[{sshd_server.host}]:{sshd_server.port} {other.get_name()} {other.get_base64()}\n"
    )
    client = _client(wrong)
    try:
        with pytest.raises(paramiko.BadHostKeyException):
            _connect(client, sshd_server)
    finally:
        client.close()


def test_every_host_key_type_is_offered(sshd_every_key_type: SshServer) -> None:
    """The server with RSA, ECDSA and Ed25519 host keys shows each, as OpenSSH's
    ssh-keyscan sees them."""
    ssh = sshd_every_key_type
    keyscan = require_binary("ssh-keyscan", "openssh-client")
    argv = [keyscan, "-p", str(ssh.port), "-t", "rsa,ecdsa,ed25519", ssh.host]
    scanned = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    lines = {" ".join(line.split()[1:3]) for line in scanned.stdout.splitlines()}
    assert lines == set(ssh.host_key_lines.values())
    assert set(ssh.host_key_lines) == {"ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"}
