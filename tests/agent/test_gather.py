"""gather_facts on this machine, and `pelihara agent facts`."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from pelihara.agent import gather
from pelihara.agent.gather import gather_facts
from pelihara.cli.main import cli
from pelihara.facts.model import SCHEMA_VERSION, Facts, facts_from_json, facts_to_json


@pytest.fixture(scope="module")
def facts() -> Facts:
    return gather_facts()


def test_identity_is_this_machine(facts: Facts) -> None:
    assert facts.identity.hostname == socket.gethostname()
    boot = facts.identity.boot_time
    assert boot is not None and boot.tzinfo is not None
    assert boot < datetime.now(UTC) < boot + timedelta(days=3650)
    machine_id = facts.identity.machine_id
    assert machine_id is None or len(machine_id) == 32


def test_cpu_and_memory_are_this_machines(facts: Facts) -> None:
    assert facts.cpu.threads == os.cpu_count()
    assert facts.cpu.cores is not None and 1 <= facts.cpu.cores <= facts.cpu.threads
    assert facts.memory_total_bytes == psutil.virtual_memory().total


def test_every_list_is_sorted(facts: Facts) -> None:
    assert [d.name for d in facts.disks] == sorted(d.name for d in facts.disks)
    assert [i.name for i in facts.interfaces] == sorted(i.name for i in facts.interfaces)
    assert [s.name for s in facts.services] == sorted(s.name for s in facts.services)
    keys = [(p.protocol, p.port, p.address) for p in facts.listening_ports]
    assert keys == sorted(set(keys))
    packages = [(p.name, p.version) for p in facts.packages]
    assert packages == sorted(packages)


def test_interfaces_include_loopback_with_its_address(facts: Facts) -> None:
    lo = {nic.name: nic for nic in facts.interfaces}["lo"]
    assert "127.0.0.1" in lo.ipv4 and lo.mac is None


def test_the_root_file_system_is_on_a_disk_when_there_is_one(facts: Facts) -> None:
    mounts = [mount.path for disk in facts.disks for mount in disk.mounts]
    assert not facts.disks or "/" in mounts


def test_json_round_trip_is_exact(facts: Facts) -> None:
    text = facts_to_json(facts)
    assert facts_from_json(text) == facts
    document = json.loads(text)
    assert document["schema_version"] == SCHEMA_VERSION
    assert list(document) == sorted(document)
    assert list(document["identity"]) == sorted(document["identity"])
    assert document["collected_at"].endswith("Z")
    assert document["identity"]["boot_time"].endswith("Z")


def test_cli_json_is_the_facts_document() -> None:
    result = CliRunner().invoke(cli, ["agent", "facts", "--format", "json"])
    assert result.exit_code == 0, result.output
    facts = facts_from_json(result.output)
    assert facts.identity.hostname == socket.gethostname()
    assert result.output.startswith("{\n  ")  # indented for people reading it


def test_cli_table_shows_the_summary() -> None:
    result = CliRunner().invoke(cli, ["agent", "facts"])
    assert result.exit_code == 0, result.output
    for word in ("hostname", socket.gethostname(), "memory", "Disks", "Interfaces", "packages"):
        assert word in result.output


def test_help_says_the_json_is_stable_and_versioned() -> None:
    result = CliRunner().invoke(cli, ["agent", "facts", "--help"])
    assert result.exit_code == 0
    assert "stable, versioned" in result.output


# --- a list not read, a list read and empty (facts schema 2) ------------------------------------


@pytest.fixture
def no_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH that finds no tool at all: lsblk, dpkg-query, rpm and ssh-keygen are missing."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(gather, "SYSTEM_PATH", str(tmp_path))


def test_without_the_tools_their_lists_are_not_read(no_tools: None) -> None:
    """Missing tools give None, never (): no disks known, no packages, no host keys; what
    psutil reads (interfaces, processes, sockets) is still read."""
    facts = gather_facts()
    assert (facts.disks, facts.packages, facts.ssh_host_keys) == (None, None, None)
    assert facts.interfaces and facts.listening_ports is not None
    assert facts.services is not None or Path("/run/systemd/system").is_dir()


def test_a_tool_that_fails_is_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A tool that prints something and exits non-zero: its answer is not taken (None)."""
    fake = tmp_path / "lsblk"
    fake.write_text("#!/bin/sh\necho '{\"blockdevices\": []}'\nexit 1\n", encoding="ascii")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert gather.run_tool(("lsblk", "-J")) is None
    assert gather.disks() is None
    fake.write_text("#!/bin/sh\necho '{\"blockdevices\": []}'\n", encoding="ascii")
    assert gather.disks() == ()  # it ran, and there is no disk: read, and none


def test_the_hardware_scope_leaves_the_software_not_read() -> None:
    facts = gather_facts("hardware")
    software = (facts.services, facts.listening_ports, facts.packages, facts.ssh_host_keys)
    assert software == (None, None, None, None)
    assert json.loads(facts_to_json(facts))["packages"] is None


def test_cli_table_says_what_was_not_read(no_tools: None) -> None:
    result = CliRunner().invoke(cli, ["agent", "facts", "--scope", "hardware"])
    assert result.exit_code == 0, result.output
    assert "Disks (not read)" in result.output
    [packages] = [line for line in result.output.splitlines() if "packages" in line]
    assert packages.replace("│", " ").split() == ["packages", "not", "read"]
