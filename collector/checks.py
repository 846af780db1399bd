"""The checks of `pelihara verify`: observations against the inventory, and sources against
each other. Each check is a small function from (expected, results) to findings; `CHECKS`
lists them, so adding one is one function and one line.

Tolerances (the README explains them):
- memory: the OS sees less RAM than is installed (firmware, kernel, crash kernel): the
  OS-visible total must lie between 90 % and 102 % of the inventory's memory_gb (GiB).
- disk: the sum of whole-disk sizes within 5 % of disk_gb (decimal GB, as disks are sold).
- CPU: the inventory's cpu_cores matches physical cores or logical CPUs (VMs show only those).

A check that cannot run because its fact was not read (facts schema 2: a list that is None;
no `ip`, no `lsblk` on the server) is reported as not run: `missing` at `info`, with a
message that says which fact was not read, never left out and never a mismatch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, Severity, Status
from pelihara.collector.probes.base import ProbeResult, ProbeStatus
from pelihara.facts.model import Facts

Results = Mapping[str, ProbeResult]
Check = Callable[[Expected, Results], Iterable[Finding]]

GIB = 1024**3
MEMORY_TOLERANCE = (0.90, 1.02)
DISK_TOLERANCE = 0.05

_PROBE_STATUS = {
    ProbeStatus.UNREACHABLE: Status.UNREACHABLE,
    ProbeStatus.REFUSED: Status.ERROR,
    ProbeStatus.ERROR: Status.ERROR,
}


def _facts(results: Results) -> Iterator[tuple[str, Facts]]:
    for source, result in sorted(results.items()):
        if result.ok and result.facts is not None:
            yield source, result.facts


def _snmp(results: Results) -> dict[str, Any] | None:
    result = results.get("snmp")
    return result.data if result is not None and result.ok else None


def _dns(results: Results) -> dict[str, Any] | None:
    result = results.get("dns")
    return result.data if result is not None and result.ok else None


def _compare(
    e: Expected, check: str, source: str, expected: object, observed: object, ok: bool,
    severity: Severity = Severity.WARNING, message: str = "",
) -> Finding:  # fmt: skip
    if observed is None:
        return Finding(e.hostname, check, source, Status.MISSING, Severity.INFO, str(expected),
                       None, message or "not observable from this source")  # fmt: skip
    status = Status.OK if ok else Status.MISMATCH
    return Finding(e.hostname, check, source, status, severity, str(expected), str(observed),
                   "" if ok else message)  # fmt: skip


NOT_READ = "were not read from this source"


def _not_run(e: Expected, check: str, source: str, expected: object, reason: str) -> Finding:
    """CHECK could not run from SOURCE, for REASON: the fact it compares was not read."""
    shown = None if expected is None else str(expected)
    return Finding(e.hostname, check, source, Status.MISSING, Severity.INFO, shown, None,
                   f"not run: {reason}")  # fmt: skip


def check_reach(e: Expected, results: Results) -> Iterator[Finding]:
    """A source that could not look is a finding for this host only; a changed key, critical."""
    for source, result in sorted(results.items()):
        for problem in result.security:
            yield Finding(e.hostname, "ssh.host_key", source, Status.MISMATCH, Severity.CRITICAL,
                          message=problem)  # fmt: skip
        if not result.ok:
            yield Finding(e.hostname, f"{source}.reach", source, _PROBE_STATUS[result.status],
                          Severity.WARNING, message=result.error or "")  # fmt: skip


def _short(name: str | None) -> str | None:
    return name.split(".")[0].lower() if name else None


def check_hostname(e: Expected, results: Results) -> Iterator[Finding]:
    for source, facts in _facts(results):
        seen = _short(facts.identity.hostname)
        yield _compare(e, "hostname", source, e.hostname, seen, seen == e.hostname,
                       Severity.CRITICAL, "another machine's name")  # fmt: skip
        fqdn = facts.identity.fqdn
        ok = fqdn is not None and fqdn.lower().rstrip(".") == e.target.domain
        yield _compare(e, "fqdn", source, e.target.domain, fqdn, ok, Severity.INFO,
                       "the host's own FQDN is not the service domain")  # fmt: skip
    snmp = _snmp(results)
    if snmp is not None:
        seen = _short(snmp.get("sysName"))
        yield _compare(e, "hostname", "snmp", e.hostname, seen, seen == e.hostname,
                       Severity.CRITICAL, "another machine's name")  # fmt: skip


def _address_findings(e: Expected, source: str, seen: set[str]) -> Iterator[Finding]:
    for position, address in enumerate(e.target.addresses):
        severity = Severity.CRITICAL if position == 0 else Severity.WARNING
        status = Status.OK if address in seen else Status.MISSING
        yield Finding(e.hostname, "ip", source, status, severity, address,
                      address if address in seen else None,
                      "" if address in seen else "address not configured on the host")  # fmt: skip


def check_addresses(e: Expected, results: Results) -> Iterator[Finding]:
    for source, facts in _facts(results):
        seen = facts.addresses()
        if seen is None:
            expected = " ".join(e.target.addresses)
            yield _not_run(e, "ip", source, expected, f"the interfaces {NOT_READ}")
        else:
            yield from _address_findings(e, source, seen)
    snmp = _snmp(results)
    if snmp is not None and not snmp["addresses"]:  # a view without the address tables
        yield Finding(e.hostname, "ip", "snmp", Status.MISSING, Severity.INFO,
                      " ".join(e.target.addresses), None,
                      "the agent shows no address table")  # fmt: skip
    elif snmp is not None:
        yield from _address_findings(e, "snmp", {row["address"] for row in snmp["addresses"]})


def _lookup_status(outcome: str) -> Status:
    """No such name or record: missing; no answer from the server: error."""
    return Status.MISSING if outcome in ("nxdomain", "no-answer") else Status.ERROR


def check_dns_forward(e: Expected, results: Results) -> Iterator[Finding]:
    dns = _dns(results)
    if dns is None:
        return
    forward, primary = dns["forward"], e.target.addresses[0]
    chain = [e.target.domain, *forward["cnames"]] if forward["cnames"] else []
    observed = " -> ".join([*chain, " ".join(forward["values"])])
    if forward["status"] != "ok":
        status = _lookup_status(forward["status"])
        yield Finding(e.hostname, "dns.forward", "dns", status, Severity.CRITICAL, primary,
                      forward["status"], f"{e.target.domain}: {forward['status']}")  # fmt: skip
        return
    ok = primary in forward["values"]
    yield Finding(e.hostname, "dns.forward", "dns", Status.OK if ok else Status.MISMATCH,
                  Severity.CRITICAL, primary, observed,
                  "" if ok else f"{e.target.domain} resolves elsewhere")  # fmt: skip
    for address in e.target.addresses[1:]:  # the others: each one in the A/AAAA records too
        ok = address in forward["values"]
        yield Finding(e.hostname, f"dns.forward {address}", "dns",
                      Status.OK if ok else Status.MISSING, Severity.WARNING, address, observed,
                      "" if ok else f"not among {e.target.domain}'s addresses")  # fmt: skip


def check_dns_reverse(e: Expected, results: Results) -> Iterator[Finding]:
    dns = _dns(results)
    if dns is None:
        return
    for address, lookup in dns["reverse"].items():
        check = f"dns.reverse {address}"
        if lookup["status"] != "ok":
            status = _lookup_status(lookup["status"])
            yield Finding(e.hostname, check, "dns", status, Severity.WARNING, e.target.domain,
                          lookup["status"], f"no PTR for {address}")  # fmt: skip
            continue
        ok = e.target.domain in lookup["values"]
        yield Finding(e.hostname, check, "dns", Status.OK if ok else Status.MISMATCH,
                      Severity.WARNING, e.target.domain, " ".join(lookup["values"]),
                      "" if ok else f"PTR of {address} names another host")  # fmt: skip


def check_cpu(e: Expected, results: Results) -> Iterator[Finding]:
    if e.cpu_cores is None:
        return
    for source, facts in _facts(results):
        counts = {c for c in (facts.cpu.cores, facts.cpu.threads) if c is not None}
        observed = "/".join(str(c) for c in sorted(counts)) if counts else None
        yield _compare(e, "cpu_cores", source, e.cpu_cores, observed, e.cpu_cores in counts,
                       message="cores/threads on the host")  # fmt: skip
    snmp = _snmp(results)
    if snmp is not None:  # no rows: the agent has no HOST-RESOURCES-MIB (or hides it)
        count = len(snmp["processors"]) or None
        yield _compare(e, "cpu_cores", "snmp", e.cpu_cores, count, count == e.cpu_cores,
                       message="logical CPUs in hrProcessorTable" if count else
                       "hrProcessorTable has no rows")  # fmt: skip


def _gib(total_bytes: int | None) -> float | None:
    return None if total_bytes is None else round(total_bytes / GIB, 1)


def _memory_ok(expected_gb: float, seen_bytes: int) -> bool:
    low, high = MEMORY_TOLERANCE
    return low * expected_gb * GIB <= seen_bytes <= high * expected_gb * GIB


def check_memory(e: Expected, results: Results) -> Iterator[Finding]:
    if e.memory_gb is None:
        return
    seen = [(s, f.memory_total_bytes) for s, f in _facts(results)]
    snmp = _snmp(results)
    if snmp is not None:
        seen.append(("snmp", snmp.get("memory_total_bytes")))
    for source, total in seen:
        ok = total is not None and _memory_ok(e.memory_gb, total)
        yield _compare(e, "memory_gb", source, f"{e.memory_gb:g}", _gib(total), ok,
                       message="outside 90-102 % of the inventory's memory")  # fmt: skip


def check_disk(e: Expected, results: Results) -> Iterator[Finding]:
    if e.disk_gb is None:
        return
    for source, facts in _facts(results):
        if facts.disks is None:
            yield _not_run(e, "disk_gb", source, f"{e.disk_gb:g}", f"the disks {NOT_READ}")
            continue
        sizes = [d.size_bytes for d in facts.disks if d.size_bytes]
        total_gb = round(sum(sizes) / 1e9, 1) if sizes else None
        ok = total_gb is not None and abs(total_gb - e.disk_gb) <= DISK_TOLERANCE * e.disk_gb
        yield _compare(e, "disk_gb", source, f"{e.disk_gb:g}", total_gb, ok,
                       message="sum of whole disks differs by more than 5 %")  # fmt: skip


def _serials(facts: Facts) -> set[str]:
    found = {d.serial for d in facts.disks or () if d.serial}
    return found | ({facts.identity.dmi_serial} if facts.identity.dmi_serial else set())


def check_serials(e: Expected, results: Results) -> Iterator[Finding]:
    snmp = _snmp(results)
    snmp_serials = None
    if snmp is not None:
        snmp_serials = {row["serial"] for row in snmp["entities"] if row.get("serial")}
    if e.serial:
        for source, facts in _facts(results):
            seen = facts.identity.dmi_serial
            yield _compare(e, "serial", source, e.serial, seen, seen == e.serial,
                           Severity.CRITICAL, "DMI serial of another unit")  # fmt: skip
        if snmp_serials is not None:
            ok = e.serial in snmp_serials
            yield _compare(e, "serial", "snmp", e.serial, " ".join(sorted(snmp_serials)) or None,
                           ok, Severity.CRITICAL, "not among ENTITY-MIB serials")  # fmt: skip
    # Where a part's serial can show: a disk's, the DMI serial, the ENTITY-MIB's.
    looked = snmp_serials is not None or any(f.disks is not None for _, f in _facts(results))
    for kind, serial in e.component_serials:
        everywhere = set().union(*(_serials(f) for _, f in _facts(results)), snmp_serials or set())
        if serial not in everywhere and not looked:
            reason = "no source read the disks or the ENTITY-MIB"
            yield _not_run(e, f"component {kind}", "all", serial, reason)
            continue
        status = Status.OK if serial in everywhere else Status.MISSING
        yield Finding(e.hostname, f"component {kind}", "all", status, Severity.WARNING, serial,
                      serial if status is Status.OK else None,
                      "" if status is Status.OK else "installed part not seen")  # fmt: skip


def os_matches(expected: str, name: str | None, os_id: str | None, version: str | None) -> bool:
    """`Debian 12` matches ID=debian VERSION_ID=12; `Rocky Linux 9` matches rocky 9.3."""
    words = set(re.findall(r"[a-z0-9.]+", expected.lower()))
    named = (os_id or "").lower() in words or bool(name and expected.lower() in name.lower())
    major = (version or "").split(".")[0]
    versioned = bool(version) and (version in words or major in words)
    return named and versioned


def check_os(e: Expected, results: Results) -> Iterator[Finding]:
    if not e.os:
        return
    for source, facts in _facts(results):
        os = facts.os
        seen = f"{os.name} (kernel {os.kernel})" if os.name else None
        ok = os_matches(e.os, os.name, os.id, os.version)
        yield _compare(e, "os", source, e.os, seen, ok, message="another operating system")


def check_cross_sources(e: Expected, results: Results) -> Iterator[Finding]:
    """Sources that disagree: possibly another machine answering on the same address."""
    snmp = _snmp(results)
    ssh = results.get("ssh")
    if snmp is None or ssh is None or ssh.facts is None:
        return
    ssh_name, snmp_name = _short(ssh.facts.identity.hostname), _short(snmp.get("sysName"))
    same = ssh_name == snmp_name
    status = Status.OK if same else Status.MISMATCH
    yield Finding(e.hostname, "cross.hostname", "ssh+snmp", status, Severity.CRITICAL,
                  ssh_name, snmp_name,
                  "" if same else "SSH and SNMP name different machines")  # fmt: skip
    seen = ssh.facts.addresses()
    if seen is None:
        yield _not_run(e, "cross.addresses", "ssh+snmp", None, "SSH did not read the interfaces")
        return
    extra = sorted({r["address"] for r in snmp["addresses"]} - seen)
    yield Finding(e.hostname, "cross.addresses", "ssh+snmp",
                  Status.MISMATCH if extra else Status.OK, Severity.WARNING, None,
                  " ".join(extra) or None,
                  "SNMP sees addresses that SSH does not" if extra else "")  # fmt: skip


CHECKS: tuple[Check, ...] = (
    check_reach,
    check_hostname,
    check_addresses,
    check_dns_forward,
    check_dns_reverse,
    check_cpu,
    check_memory,
    check_disk,
    check_serials,
    check_os,
    check_cross_sources,
)


def verify_host(e: Expected, results: Results) -> list[Finding]:
    """Every finding for one host. A check that raises (data it did not expect: a bug, or an
    agent's odd answer) is an `error` finding of that check for this host; the findings it
    made before, and every other check, are kept."""
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(e, results))
        except Exception as exc:  # one check's failure must not end the host, nor the scan
            name = check.__name__.removeprefix("check_")
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            findings.append(Finding(e.hostname, name, "all", Status.ERROR, Severity.WARNING,
                                    message=f"the check failed: {reason}"))  # fmt: skip
    return findings
