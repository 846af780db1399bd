"""No secret in a facts document: processes are named, never their command lines or
environments, and no file's contents are read.

A real process listens on 127.0.0.1 with a planted secret in its argv and its environment,
under a name longer than the kernel's 15 characters (psutil then completes the name from the
command line: only its first word may be used). The secret must be in none of: the agent's
facts (`pelihara agent facts --scope all`, JSON and table, stdout and stderr), the SSH
bundle's raw output over the real test sshd, the facts the probe made of it, or the logs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pelihara.collector.credentials import SshCredentials
from pelihara.collector.probes.base import ProbeResult, Target
from pelihara.collector.probes.ssh import SshOptions, SshProbe
from pelihara.facts.bundle import BUNDLE
from pelihara.facts.model import Facts, facts_to_json
from tests.realservers.base import free_port
from tests.realservers.sshd import USERNAME, SshServer

NAME = "pelihara-test-listener"  # 22 characters: the kernel keeps "pelihara-test-l"
COMM = NAME[:15]
LISTENER = """
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
print("ready", flush=True)
time.sleep(600)
"""


@dataclass(frozen=True)
class Planted:
    secret: str
    port: int


@pytest.fixture(scope="module")
def planted() -> Iterator[Planted]:
    """The listener, run as the SSH test user (so that its own `ss -p` names the owner), with
    the secret in `--password=...` and in PELIHARA_TEST_SECRET."""
    secret = f"s3cr3t-{secrets.token_hex(8)}"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pelihara-test-") as tmp:
        os.chmod(tmp, 0o755)
        program = Path(tmp) / NAME
        program.symlink_to("/usr/bin/python3")  # the kernel names the process by the link
        argv = [str(program), "-c", LISTENER, str(port), f"--password={secret}"]
        env = {"PATH": "/usr/bin:/bin", "PELIHARA_TEST_SECRET": secret}
        # The user's own group too: a process left in root's group is not the user's to
        # look into (/proc/PID/fd), and ss would not name it.
        user = pwd.getpwnam(USERNAME)
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, user=user.pw_uid,
                                   group=user.pw_gid, extra_groups=[])  # fmt: skip
        try:
            assert process.stdout is not None and process.stdout.readline() == b"ready\n"
            yield Planted(secret, port)
        finally:
            process.terminate()
            process.wait(timeout=10)


def _no_secret(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text
        assert "--password=" not in text


def _listener(facts: Facts, port: int) -> str | None:
    [found] = [p for p in facts.listening_ports or () if p.port == port]
    return found.process


def test_the_agents_facts_hold_no_secret(planted: Planted) -> None:
    """The CLI as an operator runs it (a subprocess): JSON and table, stdout and stderr."""
    outputs = []
    for fmt in ("json", "table"):
        argv = [sys.executable, "-m", "pelihara", "agent", "facts", "--scope", "all"]
        done = subprocess.run([*argv, "--format", fmt], capture_output=True, text=True,
                              timeout=120, check=True)  # fmt: skip
        outputs += [done.stdout, done.stderr]
    _no_secret(planted.secret, *outputs)
    from pelihara.facts.model import facts_from_json

    facts = facts_from_json(outputs[0])
    assert _listener(facts, planted.port) == NAME  # the process is there, by its name only
    assert (
        NAME in {service.name for service in facts.services or ()}
        or Path("/run/systemd/system").is_dir()
    )


class _Recording(SshProbe):
    """The SSH probe, keeping the raw text the server sent."""

    texts: list[str]

    def read(self, text: str) -> tuple[dict[str, Any], Facts | None]:
        self.texts.append(text)
        return super().read(text)


def _probe_with_bundle(sshd: SshServer) -> tuple[ProbeResult, list[str]]:
    options = SshOptions(
        SshCredentials(key_file=sshd.client_key_path, use_agent=False),
        known_hosts=(sshd.known_hosts_path,),
        default_user=sshd.username,
    )
    probe = _Recording(options, script=BUNDLE)
    probe.texts = []
    target = Target("sshd", "test", (sshd.host,), ssh_port=sshd.port, ssh_user=sshd.username)

    async def main() -> ProbeResult:
        try:
            return await probe.probe(target)
        finally:
            await probe.close()

    return asyncio.run(main()), probe.texts


def test_the_ssh_bundle_holds_no_secret(
    planted: Planted, sshd_server: SshServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Over the real sshd, as the listener's own user: ss names the owner, ps the process."""
    with caplog.at_level(logging.DEBUG):
        result, texts = _probe_with_bundle(sshd_server)
    assert result.ok, result.error
    assert result.facts is not None
    _no_secret(planted.secret, *texts, facts_to_json(result.facts), str(result.data))
    _no_secret(planted.secret, caplog.text, *(str(r.args) for r in caplog.records))
    assert _listener(result.facts, planted.port) == COMM  # ss prints the kernel's name
    assert COMM in {service.name for service in result.facts.services or ()}
