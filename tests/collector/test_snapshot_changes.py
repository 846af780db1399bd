"""Real changes between a `pre` and a `post` snapshot, and the diff that names exactly them
(issue 12, section 4): no hand-written facts.

The test host is a sandbox (`tests/realservers/sandbox.py`): this machine with network,
processes and mounts of its own, the real OpenSSH sshd running in it, its host key in the
sandbox's /etc/ssh and its package database an overlay. Each test runs `pelihara snapshot
take` as a real process inside it, over SSH to that sshd (as `sshtest`, the raw tools'
bundle) or with `--probe local` (the agent's own gathering, as root); changes the host for
real (a listener started or killed, the sshd re-keyed, a mount, addresses, dpkg); takes the
`post` snapshot; loads both from the database and diffs them with the packaged rules.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara import migrations
from pelihara.collector.diff_inputs import default_rules
from pelihara.collector.models import SnapshotRecord
from pelihara.collector.snapshot_store import load_snapshot
from pelihara.facts.changes import FactsDiff
from pelihara.facts.diff import diff_facts
from pelihara.facts.intents import Intents, intents_from_dict
from pelihara.facts.snapshot import Snapshot, snapshot_from_json
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from tests.realservers.base import missing
from tests.realservers.sandbox import (
    Sandbox,
    SandboxProcess,
    rekey_sshd,
    running_sandbox,
    start_sshd_in,
)
from tests.realservers.sshd import SshServer

ME = socket.gethostname().split(".")[0].lower()
PELIHARA = Path(sys.executable).parent / "pelihara"
TICKET = "2026/077"
LISTENER = "pltest-listen"  # the process name (`comm`) the listener runs under
LISTENER_PORT = 8080  # free: the sandbox has ports of its own
# The listener: a script named LISTENER (so its process is named so), listening until killed.
LISTENER_SCRIPT = f"""#!{sys.executable}
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", {LISTENER_PORT}))
server.listen()
print("listening", flush=True)
time.sleep(3600)
"""


@dataclass
class Host:
    """The test host: its sandbox and sshd, the inventory database, the probe of the test."""

    sandbox: Sandbox
    ssh: SshServer
    db: str
    factory: sessionmaker[Session]
    probe: str

    def pelihara(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """`pelihara --db DB ARGV...`, a real process in the sandbox (its network: the sshd)."""
        return self.sandbox.run(str(PELIHARA), "--db", self.db, *argv)

    def take(self, phase: str, *options: str) -> subprocess.CompletedProcess[str]:
        argv = ["snapshot", "take", ME, "--probe", self.probe, "--phase", phase, "--ticket",
                TICKET, "--format", "json", *options]  # fmt: skip
        if "--known-hosts" not in options:
            argv += ["--known-hosts", str(self.ssh.known_hosts_path)]
        return self.pelihara(*argv)

    def snapshot(self, phase: str, *options: str) -> Snapshot:
        """Take a snapshot (it must succeed) and read it back from the database."""
        done = self.take(phase, *options)
        assert done.returncode == 0, done.stdout + done.stderr
        (taken,) = json.loads(done.stdout)
        with transaction(self.factory, commit=False) as session:
            document = load_snapshot(session, taken["snapshot"]).document
        return snapshot_from_json(document)


def _inventory(url: str, path: Path) -> sessionmaker[Session]:
    """A fresh database holding this machine at 127.0.0.1, SSH on the sandbox's sshd."""
    engine = make_engine(url)
    migrations.upgrade(engine)
    factory = session_factory(engine)
    path.write_text("hostname,ip,domain,opd,ssh_port,ssh_user\n"
                    f"{ME},127.0.0.1,{ME}.capture.lab,Dinas Uji,2222,sshtest\n")  # fmt: skip
    import_file(factory, path, "tester")
    return factory


@pytest.fixture(params=["ssh", "local"])
def host(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[Host]:  # fmt: skip
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    with running_sandbox() as sandbox:
        ssh = start_sshd_in(sandbox)
        monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(ssh.client_key_path))
        url = f"sqlite:///{tmp_path / 'capture.db'}"
        factory = _inventory(url, tmp_path / "inventory.csv")
        yield Host(sandbox, ssh, url, factory, request.param)


RULES = default_rules()


def found(diff: FactsDiff) -> list[tuple[str, str, str, str, bool | None]]:
    """Each change as (rule, label, category, severity, expected), in rank order."""
    return [(c.rule, c.label, c.category, c.severity, c.expected) for c in diff.changes]


def outcomes(diff: FactsDiff) -> dict[str, str]:
    return {item.name: item.outcome for item in diff.identity.evidence}


def _start_listener(host: Host) -> SandboxProcess:
    script = host.sandbox.dir / LISTENER
    script.write_text(LISTENER_SCRIPT, encoding="utf-8")
    script.chmod(0o755)
    listener = host.sandbox.start(str(script), output=subprocess.PIPE)
    assert listener.nsenter.stdout is not None
    assert listener.nsenter.stdout.readline() == b"listening\n"
    return listener


def _intents(*items: dict[str, str]) -> Intents:
    """Intents as a ticket holds them (plain data)."""
    return intents_from_dict({"version": 1, "intents": list(items)}, "test")


def _after(diff: FactsDiff, rule: str) -> Any:
    (change,) = [c for c in diff.changes if c.rule == rule]
    return change.after if change.after is not None else change.before


# --- nothing changed ----------------------------------------------------------------------


def test_two_snapshots_with_nothing_changed_between_give_an_empty_diff(host: Host) -> None:
    """Uptime, load, CPU counters, free memory and usage move; the diff says nothing."""
    pre = host.snapshot("pre")
    post = host.snapshot("post")
    facts = post.facts
    # Not empty by accident: the snapshots hold the sandbox's sshd, processes and packages.
    assert 2222 in {port.port for port in facts.listening_ports or ()}
    assert "sshd" in {service.name for service in facts.services or ()}
    assert facts.packages and facts.ssh_host_keys and facts.interfaces
    assert pre.health and post.health and pre.health.uptime_seconds and post.health.cpu
    assert post.health.uptime_seconds and post.health.uptime_seconds > pre.health.uptime_seconds
    diff = diff_facts(pre.facts, facts, RULES)
    assert found(diff) == []
    assert diff.unexpected(at_least="info") == ()
    assert diff.identity.verdict == "same"
    assert outcomes(diff)["machine_id"] == outcomes(diff)["ssh_host_keys"] == "same"


# --- listeners ----------------------------------------------------------------------------


def test_a_new_listener_is_a_new_port_and_a_started_process(host: Host) -> None:
    pre = host.snapshot("pre")
    listener = _start_listener(host)
    post = host.snapshot("post")
    listener.stop()
    diff = diff_facts(pre.facts, post.facts, RULES)
    assert found(diff) == [
        ("listening_ports.added", f"tcp 127.0.0.1:{LISTENER_PORT}", "ports", "warning", None),
        ("services.started", LISTENER, "services", "low", None),
    ]
    # Over SSH the login user (sshtest) cannot see a root process's sockets: no owner.
    owner = LISTENER if host.probe == "local" else None
    assert _after(diff, "listening_ports.added")["process"] == owner
    assert diff.identity.verdict == "same"


def test_a_listener_that_stopped_is_a_port_removed_and_a_service_stopped_both_high(
    host: Host,
) -> None:
    listener = _start_listener(host)
    pre = host.snapshot("pre")
    listener.stop()
    post = host.snapshot("post")
    diff = diff_facts(pre.facts, post.facts, RULES)
    port = f"tcp 127.0.0.1:{LISTENER_PORT}"
    assert found(diff) == [
        ("listening_ports.removed", port, "ports", "high", None),
        ("services.stopped", LISTENER, "services", "high", None),
    ]
    # Stopped on purpose: the service is expected; no intent declares a port, so it is not.
    declared = diff_facts(pre.facts, post.facts, RULES, _intents(
        {"action": "stop_service", "name": LISTENER}))  # fmt: skip
    assert found(declared) == [
        ("listening_ports.removed", port, "ports", "high", False),
        ("services.stopped", LISTENER, "services", "high", True),
    ]
    assert [c.rule for c in declared.unexpected()] == ["listening_ports.removed"]
    assert declared.missing_intents == ()


# --- the SSH host key ---------------------------------------------------------------------


def _take_after_rekey(host: Host, empty: Path) -> Snapshot:
    """Over SSH the new key is refused until the recorded one is forgotten, then trusted
    (`inventory forget-host-key`, then `--trust-new-host-keys`: the README's way)."""
    if host.probe == "local":
        return host.snapshot("post")
    refused = host.take("post", "--known-hosts", str(empty), "--trust-new-host-keys")
    assert refused.returncode == 4 and "forget-host-key" in refused.stderr, refused.stderr
    with transaction(host.factory, commit=False) as session:  # nothing stored for it
        assert [r.phase for r in session.scalars(select(SnapshotRecord))] == ["pre"]
    forgot = host.pelihara("inventory", "forget-host-key", ME)
    assert forgot.returncode == 0 and "forgot ssh-ed25519" in forgot.stdout, forgot.stderr
    return host.snapshot("post", "--known-hosts", str(empty), "--trust-new-host-keys")


def test_a_new_host_key_is_high_and_with_a_declared_reinstall_expected_info(
    host: Host, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts.empty"  # only the inventory's record of the key counts
    empty.write_text("")
    pre = host.snapshot("pre", "--known-hosts", str(empty), "--trust-new-host-keys")
    old = host.ssh.host_key_fingerprint
    host.ssh = rekey_sshd(host.sandbox, host.ssh)
    post = _take_after_rekey(host, empty)
    diff = diff_facts(pre.facts, post.facts, RULES)
    rule = "ssh_host_keys.fingerprint_sha256"
    assert found(diff) == [(rule, "ssh-ed25519", "identity", "high", None)]
    (change,) = diff.changes
    assert (change.before, change.after) == (old, host.ssh.host_key_fingerprint)
    # The same machine (its machine-id) with a part changed (its host key).
    assert diff.identity.verdict == "changed"
    assert outcomes(diff)["machine_id"] == "same"
    assert outcomes(diff)["ssh_host_keys"] == "changed"
    intents = _intents({"action": "reinstall", "note": "Debian 12 reinstalled"},
                       {"action": "reboot"})  # fmt: skip
    declared = diff_facts(pre.facts, post.facts, RULES, intents)
    assert found(declared) == [(rule, "ssh-ed25519", "identity", "info", True)]
    assert declared.unexpected(at_least="info") == ()
    # The reboot that was declared did not happen (the boot time did not move): missing.
    assert [intent.action for intent in declared.missing_intents] == ["reboot"]


# --- storage ------------------------------------------------------------------------------


def _a_disk_mount(snapshot: Snapshot) -> str:
    """A mount point of a disk's file system in SNAPSHOT, to mount again elsewhere."""
    paths = [m.path for d in snapshot.facts.disks or () for m in d.mounts or ()]
    if not paths:
        missing("no file system of a disk is mounted here: a mount the facts list (a disk's "
                "/dev device) cannot be added")  # fmt: skip
    return sorted(paths, key=len)[0]


def test_a_mount_of_a_disk_is_a_storage_change_and_a_tmpfs_is_no_disk(host: Host) -> None:
    """The facts list the mounts of disks (hardware); a tmpfs lives on no disk and is not
    in them, so it is no change. Both are real mounts in the sandbox's namespace."""
    pre = host.snapshot("pre")
    source = _a_disk_mount(pre)
    bind, tmpfs = host.sandbox.dir / "pltest-mnt", host.sandbox.dir / "pltest-tmpfs"
    bind.mkdir()
    tmpfs.mkdir()
    host.sandbox.must("mount", "--bind", source, str(bind))
    host.sandbox.must("mount", "-t", "tmpfs", "-o", "size=1m", "pltest-tmpfs", str(tmpfs))
    post = host.snapshot("post")
    diff = diff_facts(pre.facts, post.facts, RULES)
    assert found(diff) == [("mounts.added", str(bind), "storage", "low", None)]
    (before,) = [m for d in pre.facts.disks or () for m in d.mounts or () if m.path == source]
    added = _after(diff, "mounts.added")
    assert (added["device"], added["fstype"]) == (before.device, before.fstype)
    assert diff.identity.verdict == "same"


# --- network ------------------------------------------------------------------------------


def test_addresses_added_and_removed_in_the_network_namespace(host: Host) -> None:
    host.sandbox.must("ip", "addr", "add", "192.0.2.76/32", "dev", "lo")
    pre = host.snapshot("pre")
    host.sandbox.must("ip", "addr", "del", "192.0.2.76/32", "dev", "lo")
    host.sandbox.must("ip", "addr", "add", "192.0.2.77/32", "dev", "lo")
    post = host.snapshot("post")
    diff = diff_facts(pre.facts, post.facts, RULES)
    assert found(diff) == [
        ("addresses.removed", "192.0.2.76", "network", "high", None),
        ("addresses.added", "192.0.2.77", "network", "warning", None),
    ]
    assert _after(diff, "addresses.added")["interface_name"] == "lo"
    intents = _intents({"action": "add_address", "address": "192.0.2.77", "interface": "lo"},
                       {"action": "remove_address", "address": "192.0.2.76"})  # fmt: skip
    declared = diff_facts(pre.facts, post.facts, RULES, intents)
    assert [c.expected for c in declared.changes] == [True, True]
    assert declared.unexpected() == () and declared.missing_intents == ()


def _veth(host: Host, name: str, peer: str) -> None:
    """A veth pair (no `dummy` module in every kernel), left down: a down link has no
    carrier to settle and no IPv6 link-local address coming later."""
    host.sandbox.must("ip", "link", "add", name, "type", "veth", "peer", "name", peer)


def _mac(snapshot: Snapshot, name: str) -> str | None:
    (mac,) = [i.mac for i in snapshot.facts.interfaces or () if i.name == name]
    return mac


def test_a_card_added_with_an_address_is_the_same_machine_with_parts_changed(host: Host) -> None:
    _veth(host, "pltest0", "pltest1")
    pre = host.snapshot("pre")
    _veth(host, "pltest2", "pltest3")
    host.sandbox.must("ip", "addr", "add", "192.0.2.80/32", "dev", "pltest2")
    post = host.snapshot("post")
    diff = diff_facts(pre.facts, post.facts, RULES)
    assert found(diff)[0] == ("addresses.added", "192.0.2.80", "network", "warning", None)
    cards = {(f"{name} ({_mac(post, name)})", _mac(post, name)) for name in ("pltest2", "pltest3")}
    assert all(mac for _, mac in cards)
    assert sorted(found(diff)[1:]) == sorted(
        ("interfaces.added", label, "network", "low", None) for label, _ in cards
    )
    assert _after(diff, "addresses.added")["interface"] == _mac(post, "pltest2")
    # The first pair's MACs are still there, two more came: partly the same hardware.
    assert outcomes(diff)["macs"] == "partly" and outcomes(diff)["machine_id"] == "same"
    assert diff.identity.verdict == "changed"


# --- packages -----------------------------------------------------------------------------


def _deb(directory: Path, name: str, version: str) -> str:
    """A Debian package holding no file (only its control data): dpkg changes nothing but
    its database, which is the sandbox's overlay."""
    root = directory / f"{name}_{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: pelihara tests <pelihara-test@localhost>\n"
        "Description: pelihara snapshot test package (no files)\n"
    )
    deb = directory / f"{name}_{version}.deb"
    argv = ["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)]
    subprocess.run(argv, check=True, capture_output=True)
    return str(deb)


def test_packages_installed_upgraded_and_removed_by_dpkg(host: Host, tmp_path: Path) -> None:
    made = (("a", "1.0"), ("a", "1.1"), ("b", "1.0"), ("c", "2.0"))
    debs = {f"{name}{version}": _deb(tmp_path, f"pelihara-test-{name}", version)
            for name, version in made}  # fmt: skip
    host.sandbox.must("dpkg", "-i", debs["a1.0"], debs["b1.0"])
    pre = host.snapshot("pre")
    host.sandbox.must("dpkg", "-i", debs["a1.1"], debs["c2.0"])
    host.sandbox.must("dpkg", "--purge", "pelihara-test-b")
    post = host.snapshot("post")
    diff = diff_facts(pre.facts, post.facts, RULES)
    assert found(diff) == [  # ranked: same severity and category, then by key (the name)
        ("packages.version", "pelihara-test-a", "packages", "low", None),
        ("packages.removed", "pelihara-test-b", "packages", "low", None),
        ("packages.added", "pelihara-test-c", "packages", "low", None),
    ]
    assert (diff.changes[0].before, diff.changes[0].after) == ("1.0", "1.1")
    intents = _intents(
        {"action": "upgrade_package", "name": "pelihara-test-a", "version": "1.1"},
        {"action": "remove_package", "name": "pelihara-test-b"},
        {"action": "install_package", "name": "pelihara-test-c", "version": "2.0"},
        {"action": "install_package", "name": "pelihara-test-d"},
    )
    declared = diff_facts(pre.facts, post.facts, RULES, intents)
    assert [c.expected for c in declared.changes] == [True, True, True]
    assert [i.to_dict() for i in declared.missing_intents] == [
        {"action": "install_package", "name": "pelihara-test-d"}
    ]
