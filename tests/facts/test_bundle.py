"""The whole bundle: its script, the splitting of its output, and the facts read from recorded
outputs in tests/fixtures/bundle (see its README)."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
from pathlib import Path

import pytest

from pelihara.core.canonical import canonical_json
from pelihara.facts.bundle import BUNDLE, parse_bundle
from pelihara.facts.model import facts_from_json, facts_sha256, facts_to_json
from pelihara.facts.section import BundleFormatError, split_sections
from pelihara.facts.software import DPKG_QUERY_COMMAND, RPM_COMMAND, SYSTEMCTL_COMMAND
from pelihara.facts.storage import LSBLK_COMMAND
from tests.facts.recorded import DEBIAN, ROCKY, fixture_text, section, sections

# --- splitting ---------------------------------------------------------------------------


def test_recorded_bundle_has_every_raw_section() -> None:
    assert list(sections(DEBIAN)) == [
        "hostname", "fqdn", "machine-id", "dmi-vendor", "dmi-product", "dmi-serial", "btime",
        "cpuinfo", "cpu-topology", "meminfo", "lsblk", "findmnt", "ip-addr", "net-speed",
        "os-release", "kernel", "services-ps", "ss", "packages-dpkg", "ssh-host-keys",
    ]  # fmt: skip


def test_an_empty_section_is_empty_text() -> None:
    assert section(DEBIAN, "dmi-serial") == ""  # no /sys/class/dmi in the container


def test_output_cut_off_before_the_end_line_is_refused() -> None:
    text = fixture_text(DEBIAN)
    cut = text[: text.index("@@pelihara:section packages-dpkg")]
    with pytest.raises(BundleFormatError, match="incomplete"):
        parse_bundle(cut)


def test_text_that_is_not_a_bundle_is_refused() -> None:
    with pytest.raises(BundleFormatError, match="not the output"):
        parse_bundle("Permission denied\n")


def test_a_section_given_twice_is_refused() -> None:
    text = "@@pelihara:bundle 1\n@@pelihara:section hostname\na\n@@pelihara:section hostname\nb\n"
    with pytest.raises(BundleFormatError, match="hostname"):
        split_sections(text + "@@pelihara:end\n")


def test_lines_a_shell_startup_file_prints_before_the_header_are_ignored() -> None:
    facts = parse_bundle("Welcome to db01!\n" + fixture_text(DEBIAN))
    assert facts.identity.hostname == "vm"


# --- whole bundles ---------------------------------------------------------------------------


def test_parse_bundle_on_the_synthetic_server() -> None:
    facts = parse_bundle(fixture_text(ROCKY))
    who = facts.identity
    assert (who.hostname, who.fqdn) == ("db01", "db01.opd.example.go.id")
    assert (who.dmi_vendor, who.dmi_product) == ("Dell Inc.", "PowerEdge R740")
    assert who.dmi_serial == "7XK2M53"
    assert (facts.cpu.sockets, facts.cpu.cores, facts.cpu.threads) == (2, 4, 8)
    assert facts.memory_total_bytes == 263636996 * 1024
    assert [disk.name for disk in facts.disks] == ["nvme0n1", "sda"]
    assert {package.manager for package in facts.packages} == {"rpm"}
    assert {service.source for service in facts.services} == {"systemd"}
    assert facts_from_json(facts_to_json(facts)) == facts


def test_empty_sections_give_none_and_empty_tuples() -> None:
    facts = parse_bundle(fixture_text("edge-empty-sections"))
    who = facts.identity
    assert who.hostname == "bare"
    assert (who.fqdn, who.machine_id, who.dmi_serial, who.boot_time) == (None, None, None, None)
    assert facts.cpu.model is None and facts.cpu.threads is None and facts.cpu.cores is None
    assert facts.memory_total_bytes is None
    assert facts.disks == facts.interfaces == facts.services == facts.listening_ports == ()
    assert facts.packages == facts.ssh_host_keys == ()
    assert (facts.os.name, facts.os.kernel) == (None, None)


def test_missing_sections_are_read_as_not_read() -> None:
    facts = parse_bundle(fixture_text("edge-missing-sections"))
    assert facts.identity.hostname == "bare" and facts.os.kernel == "6.1.0-26-amd64"
    assert facts.identity.machine_id is None and facts.memory_total_bytes is None
    lists = (facts.disks, facts.interfaces, facts.services, facts.listening_ports)
    assert (*lists, facts.packages, facts.ssh_host_keys) == (None,) * 6


def test_failed_sections_are_read_as_not_read() -> None:
    """Every list's tool missing or failing (`@@pelihara:failed`): None, never ()."""
    facts = parse_bundle(fixture_text("edge-failed-sections"))
    assert facts.identity.hostname == "bare"
    lists = (facts.disks, facts.interfaces, facts.services, facts.listening_ports)
    assert (*lists, facts.packages, facts.ssh_host_keys) == (None,) * 6


def test_mounts_not_read_leave_each_disk_with_mounts_none() -> None:
    """lsblk read, findmnt failed: the disks are there, their mounts not known."""
    text = fixture_text(DEBIAN).replace(
        "@@pelihara:section findmnt\n", "@@pelihara:section findmnt\n@@pelihara:failed\n"
    )
    assert [(d.name, d.mounts) for d in parse_bundle(text).disks or ()] == [("vda", None)]
    assert [len(d.mounts or ()) for d in parse_bundle(fixture_text(DEBIAN)).disks or ()] == [1]


def test_a_bundle_without_a_host_name_is_refused() -> None:
    with pytest.raises(BundleFormatError, match="hostname"):
        parse_bundle("@@pelihara:bundle 1\n@@pelihara:section kernel\n6.1\n@@pelihara:end\n")


def test_a_malformed_section_is_named_in_the_error() -> None:
    text = fixture_text(DEBIAN).replace('"blockdevices"', '"blockdevicez"')
    with pytest.raises(BundleFormatError, match="section lsblk") as raised:
        parse_bundle(text)
    assert raised.value.section == "lsblk"


def test_the_agent_json_section_is_the_agents_own_document() -> None:
    text = fixture_text("debian12-agent")
    facts = parse_bundle(text)
    assert facts == facts_from_json(split_sections(text)["agent-json"])
    assert facts.identity.hostname == "vm" and len(facts.packages) == 727
    assert json.loads(split_sections(text)["agent-json"])["schema_version"] == 1


# --- the script itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [LSBLK_COMMAND, SYSTEMCTL_COMMAND, DPKG_QUERY_COMMAND, RPM_COMMAND]
)
def test_the_bundle_runs_the_same_commands_as_the_agent(argv: tuple[str, ...]) -> None:
    assert shlex.join(argv) in BUNDLE


def test_the_bundle_is_fixed_text() -> None:
    assert "{}" not in BUNDLE and "%(" not in BUNDLE  # nothing is ever formatted into it
    redirections = ("2>/dev/null", ">/dev/null", "2>&1")
    script = BUNDLE
    for redirection in redirections:
        script = script.replace(redirection, "")
    assert ">" not in script  # it writes no file


def test_facts_json_is_the_canonical_form_and_its_hash_is_stable() -> None:
    """What is stored and hashed is the one canonical form; the indented one reads the same."""
    facts = parse_bundle(fixture_text(ROCKY))
    text = facts_to_json(facts)
    assert text == canonical_json(json.loads(text))
    assert json.loads(facts_to_json(facts, indent=2)) == json.loads(text)
    assert facts_sha256(facts) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert facts_sha256(facts_from_json(text)) == facts_sha256(facts)


# --- tools missing on a real shell (facts schema 2) ---------------------------------------------


def test_on_a_host_without_the_tools_the_lists_are_not_read(tmp_path: Path) -> None:
    """The bundle run by a real sh with a PATH of an empty directory: the tools of /usr/bin
    (lsblk, findmnt, ss, ps, dpkg-query, ssh-keygen) are missing, so those lists are None,
    while `ip` (in /usr/sbin, which the bundle appends to PATH) still reads the interfaces."""
    if not Path("/usr/sbin/ip").exists() or Path("/usr/sbin/ssh-keygen").exists():
        pytest.skip("needs ip in /usr/sbin and no ssh-keygen there (Debian's layout)")
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(["/bin/sh", "-s"], input=BUNDLE.encode(), capture_output=True,
                          env=env, timeout=120, check=True)  # fmt: skip
    facts = parse_bundle(done.stdout.decode())
    assert facts.disks is None and facts.listening_ports is None and facts.services is None
    assert facts.packages is None and facts.ssh_host_keys is None
    assert facts.interfaces and any(nic.name == "lo" for nic in facts.interfaces)
