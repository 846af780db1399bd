"""The checks that the test servers cannot exercise: they need facts this machine lacks (a DMI
serial, disk serials, ENTITY-MIB rows, another OS). The facts are the recorded bundle of a
Dell R740 (`tests/fixtures/bundle/rocky9-dell-synthetic.txt`, see its README): 2 x 4 cores,
251.4 GiB visible, disks of 1600.3 + 479.6 GB, DMI serial 7XK2M53, Rocky Linux 9.4."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pelihara.collector.checks import os_matches, verify_host
from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, Severity, Status, exit_status
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.facts.bundle import parse_bundle
from pelihara.facts.model import Facts, Identity

RECORDED = Path(__file__).parents[1] / "fixtures" / "bundle" / "rocky9-dell-synthetic.txt"
DISK_SERIAL = "PHAB123400AB1P6AGN"


@pytest.fixture(scope="module")
def dell() -> Facts:
    return parse_bundle(RECORDED.read_text(encoding="utf-8"))


def _expected(**values: Any) -> Expected:
    return Expected(Target("db01", "db01.opd.example.go.id", ("10.0.0.5",)), **values)


def _ssh(facts: Facts) -> ProbeResult:
    return ProbeResult("db01", "ssh", ProbeStatus.OK, facts=facts)


def _snmp(entities: list[dict[str, Any]]) -> ProbeResult:
    data = {"sysName": "db01", "addresses": [], "entities": entities, "memory_total_bytes": None}
    return ProbeResult("db01", "snmp", ProbeStatus.OK, data=data)


def _one(findings: list[Finding], check: str, source: str) -> Finding:
    [found] = [f for f in findings if f.check == check and f.source == source]
    return found


@pytest.mark.parametrize(
    ("memory_gb", "status"),
    [(256, Status.OK), (247, Status.OK), (280, Status.MISMATCH), (246, Status.MISMATCH)],
)
def test_memory_tolerance_is_90_to_102_percent(dell: Facts, memory_gb: int, status: Status):
    """251.4 GiB visible: 98 % of 256 and 101.8 % of 247 pass; 89.8 % of 280 and 102.2 % of
    246 do not."""
    findings = verify_host(_expected(memory_gb=memory_gb), {"ssh": _ssh(dell)})
    assert _one(findings, "memory_gb", "ssh").status is status


@pytest.mark.parametrize(
    ("disk_gb", "status"), [(2000, Status.OK), (2180, Status.OK), (2200, Status.MISMATCH)]
)
def test_disk_capacity_is_the_sum_of_whole_disks_within_5_percent(
    dell: Facts, disk_gb: int, status: Status
) -> None:
    finding = _one(verify_host(_expected(disk_gb=disk_gb), {"ssh": _ssh(dell)}), "disk_gb", "ssh")
    assert (finding.status, finding.observed) == (status, "2079.9")


def test_the_dmi_serial_of_another_unit_is_critical(dell: Facts) -> None:
    results = {"ssh": _ssh(dell)}
    same = _one(verify_host(_expected(serial="7XK2M53"), results), "serial", "ssh")
    assert same.status is Status.OK
    other = _one(verify_host(_expected(serial="9ZZ9Z99"), results), "serial", "ssh")
    assert (other.status, other.severity, other.observed) == (
        Status.MISMATCH,
        Severity.CRITICAL,
        "7XK2M53",
    )


def test_an_unreadable_dmi_serial_is_missing_not_a_mismatch() -> None:
    """Without root the serial cannot be read: reported, but not a failure of the server."""
    unread = Facts(identity=Identity(hostname="db01"))
    finding = _one(verify_host(_expected(serial="7XK2M53"), {"ssh": _ssh(unread)}), "serial", "ssh")
    assert (finding.status, finding.severity) == (Status.MISSING, Severity.INFO)
    assert not finding.failed


def test_the_serial_among_the_entity_mib_serials() -> None:
    chassis = [{"serial": "7XK2M53", "class": "chassis"}, {"serial": "", "class": "port"}]
    found = verify_host(_expected(serial="7XK2M53"), {"snmp": _snmp(chassis)})
    assert _one(found, "serial", "snmp").status is Status.OK
    elsewhere = [{"serial": "CN0ABC", "class": "chassis"}]
    finding = _one(verify_host(_expected(serial="7XK2M53"), {"snmp": _snmp(elsewhere)}),
                   "serial", "snmp")  # fmt: skip
    assert (finding.status, finding.observed) == (Status.MISMATCH, "CN0ABC")


def test_components_are_seen_on_any_source(dell: Facts) -> None:
    """A disk's serial from lsblk, a power supply's from ENTITY-MIB; a part nobody sees is
    missing (it may have been taken out)."""
    expected = _expected(component_serials=(("disk", DISK_SERIAL), ("psu", "PSU-77"),
                                            ("memory", "DIMM-GONE")))  # fmt: skip
    results = {"ssh": _ssh(dell), "snmp": _snmp([{"serial": "PSU-77", "class": "powerSupply"}])}
    found = {f.check: f for f in verify_host(expected, results) if f.check.startswith("component")}
    assert found["component disk"].status is Status.OK
    assert found["component psu"].status is Status.OK
    missing = found["component memory"]
    assert (missing.status, missing.severity, missing.observed) == (
        Status.MISSING,
        Severity.WARNING,
        None,
    )


@pytest.mark.parametrize(
    ("expected", "matches"),
    [("Rocky Linux 9", True), ("rocky 9.4", True), ("Rocky Linux 8", False),
     ("Debian 9", False), ("Rocky Linux", False)],
)  # fmt: skip
def test_os_names_the_id_and_the_version(expected: str, matches: bool) -> None:
    assert os_matches(expected, "Rocky Linux 9.4 (Blue Onyx)", "rocky", "9.4") is matches


def test_another_os_is_a_mismatch(dell: Facts) -> None:
    finding = _one(verify_host(_expected(os="Debian 12"), {"ssh": _ssh(dell)}), "os", "ssh")
    assert finding.status is Status.MISMATCH
    assert finding.observed == "Rocky Linux 9.4 (Blue Onyx) (kernel 5.14.0-427.13.1.el9_4.x86_64)"


# --- a fact not read: the check is reported as not run (facts schema 2) ------------------------


def test_checks_whose_lists_were_not_read_are_reported_as_not_run(dell: Facts) -> None:
    """No `ip`, no `lsblk` on the server: the address, disk and component checks say they
    could not run (missing, info: never a failure), where they would otherwise fail."""
    unread = dataclasses.replace(dell, interfaces=None, disks=None)
    expected = _expected(disk_gb=2000, component_serials=(("disk", DISK_SERIAL),))
    findings = verify_host(expected, {"ssh": _ssh(unread)})
    for check in ("ip", "disk_gb", "component disk"):
        source = "all" if check.startswith("component") else "ssh"
        found = _one(findings, check, source)
        assert (found.status, found.severity) == (Status.MISSING, Severity.INFO), check
        assert found.message.startswith("not run: "), check
        assert "not read" in found.message or "no source read" in found.message, check
        assert not found.failed
    assert exit_status(findings) == 0


def test_a_list_read_and_empty_still_fails_its_check(dell: Facts) -> None:
    """() is "none": an address expected on a host with no address is missing, critical."""
    findings = verify_host(_expected(), {"ssh": _ssh(dataclasses.replace(dell, interfaces=()))})
    found = _one(findings, "ip", "ssh")
    assert (found.status, found.severity) == (Status.MISSING, Severity.CRITICAL)
    assert found.failed


def test_cross_addresses_not_run_when_ssh_did_not_read_the_interfaces(dell: Facts) -> None:
    snmp = _snmp([])
    snmp.data["addresses"] = [{"address": "10.0.0.5"}]
    results = {"ssh": _ssh(dataclasses.replace(dell, interfaces=None)), "snmp": snmp}
    found = _one(verify_host(_expected(), results), "cross.addresses", "ssh+snmp")
    assert (found.status, found.severity) == (Status.MISSING, Severity.INFO)
    assert found.message == "not run: SSH did not read the interfaces"
