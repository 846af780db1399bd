"""The SSH probe: its known_hosts index against paramiko's, and the probe against the real sshd.

The live tests use the session's `sshd_server` on 127.0.0.1 (key login as `sshtest`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from pelihara.agent.gather import gather_facts
from pelihara.collector.credentials import Secret, SshCredentials
from pelihara.collector.expectations import Expected
from pelihara.collector.probes import ssh
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.ssh import SshOptions, SshProbe
from pelihara.collector.probes.ssh_host_keys import known_hosts_name
from pelihara.collector.runs import HostOutcome
from pelihara.collector.scan import scan
from pelihara.facts import bundle
from pelihara.facts.bundle import VERIFY_BUNDLE, parse_bundle
from pelihara.facts.model import Facts
from pelihara.facts.section import READERS, gathered
from tests.realservers.sshagent import running_ssh_agent
from tests.realservers.sshd import SshServer, running_sshd
from tests.shell import fake_agent, path_without_pelihara, run_script

PASSPHRASE = "kata-sandi-kunci"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _public_line(kind: str) -> str:
    """A fresh public key as known_hosts writes it: `TYPE BASE64`."""
    key = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else ec.generate_private_key(ec.SECP256R1())
    )
    openssh = serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    return key.public_key().public_bytes(*openssh).decode()


# --- the probe against the real sshd ---------------------------------------------------------


def _target(sshd: SshServer) -> Target:
    return Target("sshd", "test", (sshd.host,), ssh_port=sshd.port, ssh_user=sshd.username)


def _probe(
    sshd: SshServer, key_file: Path, known_hosts: Path, trust_new: bool = False,
    script: str = VERIFY_BUNDLE, command_timeout: float = 60.0, **credentials: Any,
) -> SshProbe:  # fmt: skip
    bound = credentials.pop("max_output_bytes", ssh.MAX_OUTPUT_BYTES)
    options = SshOptions(
        SshCredentials(key_file=key_file, use_agent=False, **credentials),
        known_hosts=(known_hosts,),
        trust_new_host_keys=trust_new,
        default_user=sshd.username,
        command_timeout=command_timeout,
        concurrency=4,
        max_output_bytes=bound,
    )
    return SshProbe(options, script=script)


def _run(probe: SshProbe, sshd: SshServer, times: int = 1) -> list[ProbeResult]:
    async def main() -> list[ProbeResult]:
        try:
            return list(await asyncio.gather(*(probe.probe(_target(sshd)) for _ in range(times))))
        finally:
            await probe.close()

    return asyncio.run(main())


def _host_key_line(sshd: SshServer, name: str) -> str:
    return f"{name} {sshd.host_key_line}\n"


def test_a_hashed_known_hosts_line_lets_the_probe_in(sshd_server: SshServer, tmp_path: Path):
    known = tmp_path / "known_hosts"
    name = paramiko.HostKeys.hash_host(known_hosts_name(sshd_server.host, sshd_server.port))
    known.write_text(_host_key_line(sshd_server, name), encoding="utf-8")
    [result] = _run(_probe(sshd_server, sshd_server.client_key_path, known), sshd_server)
    assert result.ok, result.error
    assert result.data["host_key"]["fingerprint_sha256"] == sshd_server.host_key_fingerprint


def test_a_changed_key_in_known_hosts_is_refused_and_reported(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    name = known_hosts_name(sshd_server.host, sshd_server.port)
    known.write_text(f"{name} {_public_line('ed25519')}\n", encoding="utf-8")
    [result] = _run(_probe(sshd_server, sshd_server.client_key_path, known), sshd_server)
    assert result.status is ProbeStatus.REFUSED
    assert result.error is not None and result.error.startswith(f"HOST KEY CHANGED for {name}")
    assert result.security == (result.error,)


@pytest.mark.parametrize("trust_new", [False, True], ids=["strict", "trust-new"])
def test_a_key_of_another_type_than_recorded_is_refused_as_changed(
    sshd_server: SshServer, tmp_path: Path, trust_new: bool
) -> None:
    """known_hosts holds an ECDSA key; the server offers only its Ed25519 one: not "unknown"
    (which --trust-new-host-keys would record) but a change, refused and reported."""
    known = tmp_path / "known_hosts"
    name = known_hosts_name(sshd_server.host, sshd_server.port)
    known.write_text(f"{name} {_public_line('ecdsa')}\n", encoding="utf-8")
    probe = _probe(sshd_server, sshd_server.client_key_path, known, trust_new=trust_new)
    [result] = _run(probe, sshd_server)
    assert result.status is ProbeStatus.REFUSED and result.seen_host_keys == ()
    assert result.error is not None and result.error.startswith(f"HOST KEY CHANGED for {name}")
    assert "only ecdsa-sha2-nistp256 is recorded" in result.error
    assert result.security == (result.error,)


def test_the_recorded_key_type_is_asked_for_first(tmp_path: Path) -> None:
    """A server with an Ed25519 and an ECDSA key, known by its ECDSA key only: the probe asks
    for ECDSA first (as OpenSSH does) and gets in; without that paramiko would take Ed25519."""
    directory = Path(tempfile.mkdtemp(prefix="pelihara-hostkeys-", dir="/tmp"))
    ecdsa = directory / "host_ecdsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(ecdsa)],
                   check=True, capture_output=True)  # fmt: skip
    public = " ".join(ecdsa.with_suffix(".pub").read_text(encoding="ascii").split()[:2])
    with running_sshd(f"HostKey {ecdsa}\n") as sshd:
        known = tmp_path / "known_hosts"
        known.write_text(f"{known_hosts_name(sshd.host, sshd.port)} {public}\n", encoding="utf-8")
        [result] = _run(_probe(sshd, sshd.client_key_path, known), sshd)
    assert result.ok, result.error
    assert result.data["host_key"]["key_type"] == "ecdsa-sha2-nistp256"


def test_the_command_timeout_bounds_the_whole_answer(sshd_server: SshServer) -> None:
    """A server that keeps printing, never finishing: the timeout is for the whole answer,
    not for each read."""
    trickle = "i=0; while [ $i -lt 50 ]; do echo still-here; sleep 0.1; i=$((i+1)); done\n"
    probe = _probe(sshd_server, sshd_server.client_key_path, sshd_server.known_hosts_path,
                   script=trickle, command_timeout=1.0)  # fmt: skip
    [result] = _run(probe, sshd_server)
    assert result.status is ProbeStatus.ERROR
    assert result.error == "no complete answer within 1 s"


def test_the_answer_is_bounded(sshd_server: SshServer) -> None:
    """A server that prints without end (here `yes`, through the real sshd) is read up to the
    bound (32 MiB by default; 1 MiB here), then reported; it never grows without limit."""
    assert SshOptions(SshCredentials()).max_output_bytes == 32 * 1024 * 1024
    probe = _probe(sshd_server, sshd_server.client_key_path, sshd_server.known_hosts_path,
                   script="exec yes pelihara\n", max_output_bytes=1024 * 1024)  # fmt: skip
    [result] = _run(probe, sshd_server)
    assert result.status is ProbeStatus.ERROR
    assert result.error == "the answer is longer than 1,048,576 bytes: not read further"
    small = _probe(sshd_server, sshd_server.client_key_path, sshd_server.known_hosts_path,
                   script="head -c 1048576 /dev/zero\n", max_output_bytes=1024 * 1024)  # fmt: skip
    assert _run(small, sshd_server)[0].error != result.error  # exactly the bound is read


def test_the_key_file_is_read_once_per_probe(
    sshd_server: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _count_calls(monkeypatch, paramiko.PKey, "from_path")
    probe = _probe(sshd_server, sshd_server.client_key_path, sshd_server.known_hosts_path)
    results = _run(probe, sshd_server, times=3)
    assert [r.status for r in results] == [ProbeStatus.OK] * 3
    assert len(reads) == 1


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    calls: list[object] = []
    original: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, staticmethod(counted))
    return calls


@pytest.fixture(scope="module")
def encrypted_key(sshd_server: SshServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client key of the sshd fixture, protected by PASSPHRASE."""
    path = tmp_path_factory.mktemp("key") / "client_ed25519"
    path.write_bytes(sshd_server.client_key_path.read_bytes())
    path.chmod(0o600)
    argv = ["ssh-keygen", "-q", "-p", "-P", "", "-N", PASSPHRASE, "-f", str(path)]
    subprocess.run(argv, check=True, capture_output=True)
    return path


def test_a_key_with_its_passphrase_logs_in(sshd_server: SshServer, encrypted_key: Path) -> None:
    probe = _probe(sshd_server, encrypted_key, sshd_server.known_hosts_path,
                   passphrase=Secret(PASSPHRASE))  # fmt: skip
    results = _run(probe, sshd_server, times=2)
    assert [r.status for r in results] == [ProbeStatus.OK] * 2, results[0].error


@pytest.mark.parametrize(
    ("passphrase", "message"),
    [(None, "the SSH key needs a passphrase"), ("salah", "cannot load the SSH key")],
)
def test_a_key_it_cannot_open_fails_every_host_without_the_passphrase(
    sshd_server: SshServer, encrypted_key: Path, passphrase: str | None, message: str
) -> None:
    secret = Secret(passphrase) if passphrase else None
    probe = _probe(sshd_server, encrypted_key, sshd_server.known_hosts_path, passphrase=secret)
    results = _run(probe, sshd_server, times=2)
    for result in results:
        assert result.status is ProbeStatus.ERROR
        assert result.error is not None and result.error.startswith(message)
        assert "salah" not in result.error and str(encrypted_key) not in result.error


@pytest.mark.parametrize("content", [None, "not a key\n"], ids=["missing", "garbage"])
def test_a_key_file_it_cannot_read_is_named_by_its_setting_not_its_path(
    sshd_server: SshServer, tmp_path: Path, content: str | None
) -> None:
    """Where the key lives is a secret too: the error says which setting to fix."""
    key = tmp_path / "tempat-rahasia" / "id_ed25519"
    if content is not None:
        key.parent.mkdir()
        key.write_text(content, encoding="ascii")
    [result] = _run(_probe(sshd_server, key, sshd_server.known_hosts_path), sshd_server)
    assert result.status is ProbeStatus.ERROR and result.error is not None
    assert result.error.startswith("cannot load the SSH key (key_file in credentials.toml")
    assert "tempat-rahasia" not in result.error
    if content is None:
        assert result.error.endswith("No such file or directory")
    assert "tempat-rahasia" not in repr(SshCredentials(key_file=key))


def run_bundle(script: str, path: str | None = None) -> Facts:
    """The facts SCRIPT gives on this machine, run by `sh -s` as the SSH probe runs it (with
    PATH; by default one without pelihara: the raw tools)."""
    return dataclasses.replace(parse_bundle(run_script(script, path)), collected_at=NOW)


def test_the_gathered_output_reads_as_the_streamed_one() -> None:
    """VERIFY_BUNDLE writes its output at once (fewer SSH packets); the facts are the same."""
    streamed = bundle.script("hardware", bundle.HARDWARE)
    assert gathered(streamed) == VERIFY_BUNDLE != streamed

    assert run_bundle(VERIFY_BUNDLE) == run_bundle(streamed)


def test_aes_gcm_is_asked_for_first_and_nothing_is_added() -> None:
    with socket.socket() as unconnected:
        security = paramiko.Transport(unconnected).get_security_options()
        before = set(security.ciphers)
        ssh._prefer_ciphers(security)
        assert security.ciphers[:2] == ssh.PREFERRED_CIPHERS
        assert set(security.ciphers) == before


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_the_bundles_line_reader_prints_what_cat_would(shell: str, tmp_path: Path) -> None:
    """One-line files are read by the shell's `read` (no process): a file without its final
    newline, a blank-padded value, an unreadable or a missing file read as `cat` has them."""
    functions = READERS
    (tmp_path / "plain").write_text("web01\n")
    (tmp_path / "no-newline").write_text("VMware, Inc.")
    (tmp_path / "padded").write_text("  R740  \n")
    script = functions + "".join(
        f"printf '[%s]\\n' \"$(line {tmp_path / name})\"\n"
        for name in ("plain", "no-newline", "padded", "missing")
    )
    done = subprocess.run([shell, "-s"], input=script.encode(), capture_output=True, check=True)
    assert done.stdout.decode().splitlines() == ["[web01]", "[VMware, Inc.]", "[  R740  ]", "[]"]
    assert done.stderr == b""


def test_without_proc_the_bundle_falls_back_to_uname_and_grep(tmp_path: Path) -> None:
    """The host and kernel names come from /proc/sys/kernel, MemTotal from the first line of
    /proc/meminfo; where either is not so, `uname` and `grep` give the same facts."""
    meminfo = tmp_path / "meminfo"
    lines = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
    meminfo.write_text("\n".join([*lines[1:], lines[0]]) + "\n")  # MemTotal last
    fallback = VERIFY_BUNDLE.replace("/proc/sys/kernel/", f"{tmp_path}/missing/").replace(
        "/proc/meminfo", str(meminfo)
    )
    assert fallback.count(str(tmp_path)) == 4

    through_proc, through_tools = run_bundle(VERIFY_BUNDLE), run_bundle(fallback)
    assert through_tools == through_proc
    uname = subprocess.check_output(["uname", "-n", "-r"], text=True).split()
    assert [through_tools.identity.hostname, through_tools.os.kernel] == uname
    assert through_tools.memory_total_bytes == int(lines[0].split()[1]) * 1024


# --- the server's own agent ---------------------------------------------------------------


def test_verify_asks_the_installed_agent_for_its_hardware_facts() -> None:
    """With `pelihara` on the PATH the bundle prints the agent's JSON (hardware scope), and
    it describes the machine as the raw tools do."""
    with_agent = f"{Path(sys.executable).parent}:{path_without_pelihara()}"
    text = run_script(VERIFY_BUNDLE, with_agent)
    assert "@@pelihara:section agent-json" in text
    assert "@@pelihara:section cpuinfo" not in text  # the raw tools did not run
    through_agent, raw = run_bundle(VERIFY_BUNDLE, with_agent), run_bundle(VERIFY_BUNDLE)
    software = (through_agent.packages, through_agent.services, through_agent.listening_ports)
    assert software == (None, None, None)  # not read, as the raw verify bundle
    for fact in ("cpu", "memory_total_bytes", "os"):
        assert getattr(through_agent, fact) == getattr(raw, fact), fact
    assert through_agent.identity.hostname == raw.identity.hostname
    assert through_agent.addresses() == raw.addresses()


@pytest.mark.parametrize("answers", [True, False], ids=["agent", "agent-too-old"])
def test_the_ssh_probe_takes_the_agents_facts_and_else_the_raw_tools(answers: bool) -> None:
    """Over a real sshd whose sessions find a `pelihara`: its JSON is the facts (a name only it
    gives proves it); an agent that cannot answer leaves the raw tools to do it."""
    with tempfile.TemporaryDirectory(prefix="pelihara-agent-") as tmp:
        directory = Path(tmp)
        here = gather_facts("hardware")
        said = dataclasses.replace(
            here, identity=dataclasses.replace(here.identity, hostname="agent-said-so")
        )
        with running_sshd(fake_agent(directory, said if answers else None)) as sshd:
            probe = _probe(sshd, sshd.client_key_path, sshd.known_hosts_path)
            [result] = _run(probe, sshd)
    assert result.ok, result.error
    assert result.facts is not None
    expected = "agent-said-so" if answers else here.identity.hostname
    assert result.facts.identity.hostname == expected
    assert result.facts.memory_total_bytes == here.memory_total_bytes


# --- ssh-agent ------------------------------------------------------------------------------


def _agent_probe(sshd: SshServer) -> SshProbe:
    options = SshOptions(
        SshCredentials(use_agent=True),
        known_hosts=(sshd.known_hosts_path,),
        default_user=sshd.username,
        concurrency=4,
    )
    return SshProbe(options, script=VERIFY_BUNDLE)


def test_a_key_in_the_ssh_agent_logs_in(
    sshd_server: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key file: the key is only in a real ssh-agent (SSH_AUTH_SOCK); hosts signed at once
    each use their own agent connection."""
    with running_ssh_agent(tmp_path, sshd_server.client_key_path) as sock:
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        results = _run(_agent_probe(sshd_server), sshd_server, times=4)
    assert [r.status for r in results] == [ProbeStatus.OK] * 4, [r.error for r in results]


@pytest.mark.parametrize("agent", ["empty", "none"])
def test_without_a_key_anywhere_the_error_says_where_it_looked(
    sshd_server: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, agent: str
) -> None:
    if agent == "none":
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        [result] = _run(_agent_probe(sshd_server), sshd_server)
    else:
        with running_ssh_agent(tmp_path) as sock:
            monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
            [result] = _run(_agent_probe(sshd_server), sshd_server)
    assert result.status is ProbeStatus.ERROR
    assert result.error is not None and "ssh-agent" in result.error
    assert "key_file" in result.error


def test_the_connection_has_nagle_off(sshd_server: SshServer) -> None:
    """TCP_NODELAY: without it each small handshake packet waits for the peer's ACK."""
    options = SshOptions(SshCredentials(use_agent=False), known_hosts=())
    with ssh._connect(_target(sshd_server), options) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert sock.getpeername() == (sshd_server.host, sshd_server.port)


def test_a_port_that_never_speaks_ssh_is_given_up_after_the_auth_timeout() -> None:
    """A listener that accepts and stays silent (no banner): the handshake timeout ends it,
    as an error of this host only."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = Target("mute", "test", ("127.0.0.1",), ssh_port=silent.getsockname()[1])
        options = SshOptions(SshCredentials(use_agent=False), known_hosts=(), auth_timeout=0.5)
        probe = SshProbe(options, script=VERIFY_BUNDLE)

        async def main() -> ProbeResult:
            try:
                return await probe.probe(target)
            finally:
                await probe.close()

        result = asyncio.run(main())
    assert result.status is ProbeStatus.UNREACHABLE
    port = target.ssh_port
    assert (
        result.error
        == f"no SSH handshake within 0.5 s from 127.0.0.1 port {port} (not an SSH server?)"
    )


def test_a_server_that_stalls_after_its_banner_is_given_up_after_the_auth_timeout() -> None:
    """A server that sends its banner, then nothing (no key exchange): without paramiko's
    handshake timer thread (`ProbeTransport`), start_client's timeout still ends it."""
    with socket.socket() as stalling:
        stalling.bind(("127.0.0.1", 0))
        stalling.listen()
        target = Target("stall", "test", ("127.0.0.1",), ssh_port=stalling.getsockname()[1])
        options = SshOptions(SshCredentials(use_agent=False), known_hosts=(), auth_timeout=0.5)
        probe = SshProbe(options, script=VERIFY_BUNDLE)

        def banner_then_silence() -> None:
            peer, _ = stalling.accept()
            peer.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            peer.recv(65536)  # the client's banner and KEXINIT; never answered
            time.sleep(1.5)
            peer.close()

        server = threading.Thread(target=banner_then_silence, daemon=True)
        server.start()
        started = time.monotonic()
        result = probe.probe_blocking(target)
        asyncio.run(probe.close())
    assert time.monotonic() - started < 1.4
    assert result.status is ProbeStatus.UNREACHABLE
    assert result.error is not None and result.error.startswith("no SSH handshake within 0.5 s")


def test_a_servers_debug_message_is_logged_only_when_debug_is_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """paramiko escapes a debug message byte by byte in Python: done only for a log that
    shows it."""
    message = paramiko.Message()
    message.add_boolean(False)
    message.add_string("authorized_keys:1: key options: pty")
    message.add_string("")
    with socket.socket() as unconnected:
        transport = ssh.ProbeTransport(unconnected)
        with caplog.at_level(logging.INFO, logger="paramiko"):
            transport._parse_debug(paramiko.Message(message.asbytes()))
        assert not caplog.records
        with caplog.at_level(logging.DEBUG, logger="paramiko.transport"):
            transport._parse_debug(paramiko.Message(message.asbytes()))
    assert [r.getMessage() for r in caplog.records] == [
        "Debug msg: b'authorized_keys:1: key options: pty'"  # as paramiko writes it
    ]


def test_a_refused_connection_names_the_address_and_port() -> None:
    """The reach message says where it tried: the inventory's address (or ssh_host) and port,
    so a wrong address in the inventory shows in the message itself."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.3", 0))
        port = closed.getsockname()[1]  # bound, never listening: refused
        target = Target("web01", "test", ("127.0.0.3",), ssh_port=port)
        options = SshOptions(SshCredentials(use_agent=False), known_hosts=(), connect_timeout=2)
        probe = SshProbe(options, script=VERIFY_BUNDLE)
        result = probe.probe_blocking(target)
        asyncio.run(probe.close())
    assert result.status is ProbeStatus.UNREACHABLE
    assert result.error == f"127.0.0.3 port {port}: Connection refused"


# --- agents of other facts schemas ------------------------------------------------------------

SCHEMA1_AGENT = Path(__file__).parents[1] / "fixtures" / "facts" / "schema1-agent-hardware.json"


def _agents_on(directory: Path, agents: dict[str, str]) -> str:
    """sshd_config lines: sessions that come in on an address of AGENTS find an agent that
    prints its document (the listen lines first: sshd takes none inside a Match block)."""
    listen = "".join(f"ListenAddress {address}\n" for address in agents)
    matches = ""
    for address, document in agents.items():
        (directory / address).mkdir()
        matches += f"Match LocalAddress {address}\n  {fake_agent(directory / address, document)}"
    return listen + matches


def _scan(probe: SshProbe, sshd: SshServer, hosts: dict[str, str]) -> dict[str, HostOutcome]:
    """One scan of HOSTS (name -> address, all on SSHD's port) with PROBE: each host's outcome."""
    expected = [
        Expected(Target(name, "test", (address,), ssh_port=sshd.port, ssh_user=sshd.username))
        for name, address in hosts.items()
    ]
    outcomes: dict[str, HostOutcome] = {}
    asyncio.run(
        scan(expected, [probe], 4, lambda one: outcomes.update({one.expected.hostname: one}))
    )
    return outcomes


def test_an_agent_newer_than_the_collector_is_refused_for_its_host_only() -> None:
    """One scan over a real sshd: a server whose agent writes facts schema 3 is that host's
    error, naming both versions; a schema-1 agent is read (upgraded); the raw tools as ever."""
    recorded = SCHEMA1_AGENT.read_text()
    newer = recorded.replace('"schema_version": 1', '"schema_version": 3')
    with tempfile.TemporaryDirectory(prefix="pelihara-agents-") as tmp:
        directory = Path(tmp)
        directory.chmod(0o755)
        config = _agents_on(directory, {"127.0.0.2": newer, "127.0.0.3": recorded})
        with running_sshd(config) as sshd:
            probe = _probe(sshd, sshd.client_key_path, sshd.known_hosts_path, trust_new=True)
            hosts = {"raw": "127.0.0.1", "newer": "127.0.0.2", "old": "127.0.0.3"}
            outcomes = _scan(probe, sshd, hosts)
    refusal = (
        "the server's agent: facts schema 3 is newer than this pelihara reads (2): "
        "upgrade pelihara on the collector"
    )
    result = outcomes["newer"].results["ssh"]
    assert (result.status, result.error) == (ProbeStatus.ERROR, refusal)
    [reach] = [f for f in outcomes["newer"].findings if f.check == "ssh.reach"]
    assert reach.message == refusal and reach.unreached
    old = outcomes["old"].results["ssh"].facts
    assert old is not None and old.schema_version == 2 and old.packages is None
    assert old.identity.machine_id == json.loads(recorded)["identity"]["machine_id"]
    raw = outcomes["raw"].results["ssh"]
    assert raw.ok and raw.facts is not None and raw.facts.interfaces
