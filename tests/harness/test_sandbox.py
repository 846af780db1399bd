"""The sandbox host of the snapshot tests: its own network, processes and mounts, its sshd,
and nothing of it left on this machine once it is stopped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.realservers.base import pid_alive
from tests.realservers.sandbox import rekey_sshd, running_sandbox, start_sandbox, start_sshd_in
from tests.realservers.sshd import SshServer


def test_the_sandbox_has_its_own_network_processes_and_mounts() -> None:
    with running_sandbox() as sandbox:
        links = sandbox.must("ip", "-o", "link").splitlines()
        assert [line.split(":")[1].strip() for line in links] == ["lo"]
        assert sandbox.must("ps", "-eo", "comm=").split() == ["sleep", "ps"]
        sandbox.must("ip", "addr", "add", "192.0.2.99/32", "dev", "lo")
        assert "192.0.2.99" in sandbox.must("ip", "-o", "addr")
        assert "192.0.2.99" not in subprocess.run(["ip", "-o", "addr"], capture_output=True,
                                                  text=True, check=True).stdout  # fmt: skip
        assert sandbox.must("ls", "-A", "/etc/ssh") == ""  # its own, empty
        assert Path("/etc/ssh").exists() and not sandbox.path("/etc/ssh/sshd_config").exists()


def test_dpkg_writes_stay_in_the_sandbox(tmp_path: Path) -> None:
    status = Path("/var/lib/dpkg/status").read_bytes()
    with running_sandbox() as sandbox:
        sandbox.must("sh", "-c", "echo 'Package: pelihara-test-x' >> /var/lib/dpkg/status")
        assert b"pelihara-test-x" in sandbox.path("/var/lib/dpkg/status").read_bytes()
    assert Path("/var/lib/dpkg/status").read_bytes() == status


def test_stopping_the_sandbox_ends_every_process_in_it_and_removes_its_dir() -> None:
    with running_sandbox() as sandbox:
        sleeper = sandbox.start("sleep", "600")
        init, directory = sandbox.pid, sandbox.dir
        assert pid_alive(sleeper.pid) and os.path.isdir(directory)
    assert not pid_alive(sleeper.pid) and not pid_alive(init)
    assert not directory.exists()


def _openssh(ssh: SshServer) -> list[str]:
    """OpenSSH's own client, strict, with the sshd's known_hosts only (run in the sandbox)."""
    return ["ssh", "-F", "/dev/null", "-o", f"UserKnownHostsFile={ssh.known_hosts_path}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(ssh.client_key_path),
            "-p", str(ssh.port), f"{ssh.username}@{ssh.host}", "true"]  # fmt: skip


def test_its_sshd_takes_a_new_host_key_on_the_same_port() -> None:
    with running_sandbox() as sandbox:
        ssh = start_sshd_in(sandbox)
        assert sandbox.run(*_openssh(ssh)).returncode == 0
        keygen = sandbox.must("ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub")
        assert keygen.split()[1] == ssh.host_key_fingerprint
        rekeyed = rekey_sshd(sandbox, ssh)
        assert rekeyed.port == ssh.port
        assert rekeyed.host_key_fingerprint != ssh.host_key_fingerprint
        keygen = sandbox.must("ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub")
        assert keygen.split()[1] == rekeyed.host_key_fingerprint
        assert sandbox.must("ls", "/etc/ssh").split() == [
            "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]  # fmt: skip
        assert not pid_alive(ssh.server.pid)
        refused = sandbox.run(*_openssh(rekeyed))  # known_hosts still holds the old key
        assert refused.returncode != 0 and "HOST IDENTIFICATION HAS CHANGED" in refused.stderr


def _fake_unshare(directory: Path) -> None:
    """An `unshare` that refuses as a container without CAP_SYS_ADMIN does (that refusal
    cannot be produced for real on a machine where root may make namespaces)."""
    fake = directory / "unshare"
    fake.write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\n"
                    "exit 1\n")  # fmt: skip
    fake.chmod(0o755)


@pytest.mark.parametrize("ci", ["true", ""])
def test_namespaces_refused_fail_under_ci_and_skip_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    _fake_unshare(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setenv("CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match=r"no private namespaces here.*Operation not permitted"):
        start_sandbox()


def test_a_missing_unshare_names_its_package_and_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install util-linux"):
        start_sandbox()
