"""Findings: what a verification concluded, one check of one host from one source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pelihara.core.errors import ExitCode


class Status(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"  # observed, and not what the inventory says
    MISSING = "missing"  # the inventory expects it, the source does not show it
    UNREACHABLE = "unreachable"  # the source could not reach the host
    ERROR = "error"  # the source reached it but could not look (auth, host key, timeout)


class Severity(StrEnum):
    INFO = "info"  # worth knowing; never fails a run
    WARNING = "warning"
    CRITICAL = "critical"  # possibly the wrong machine, or a security problem


@dataclass(frozen=True)
class Finding:
    host: str
    check: str
    source: str
    status: Status
    severity: Severity
    expected: str | None = None
    observed: str | None = None
    message: str = ""

    @property
    def failed(self) -> bool:
        """A mismatch or missing value that should fail the run (not merely informative)."""
        bad = self.status in (Status.MISMATCH, Status.MISSING)
        return bad and self.severity is not Severity.INFO

    @property
    def unreached(self) -> bool:
        return self.status in (Status.UNREACHABLE, Status.ERROR)

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host, "check": self.check, "source": self.source,
            "status": self.status.value, "severity": self.severity.value,
            "expected": self.expected, "observed": self.observed, "message": self.message,
        }  # fmt: skip


def exit_status(findings: Iterable[Finding]) -> int:
    """0 all ok; +1 when something does not match; +4 when a host could not be verified."""
    findings = list(findings)
    status = ExitCode.FINDINGS if any(f.failed for f in findings) else 0
    if any(f.unreached for f in findings):
        status |= ExitCode.UNREACHABLE
    return int(status)


# A host's verdict, worst first: a critical mismatch (another machine, a changed host key,
# the domain resolving elsewhere) outranks a source that could not look at the host; a
# check that could not be made (a SERVFAIL on one PTR) is that check's error, not the host's.
VERDICTS = ("critical", "unreachable", "mismatch", "error", "ok")


def summary_bucket(finding: Mapping[str, Any]) -> str:
    """Where a finding (as `Finding.as_dict` gives it) counts in its host's summary: ok,
    info, failing, error (a check could not be made) or unreached (a source could not look)."""
    status, severity = str(finding["status"]), str(finding["severity"])
    if status in (Status.UNREACHABLE, Status.ERROR):
        return "unreached" if str(finding["check"]).endswith(".reach") else "error"
    if status == Status.OK:
        return "ok"
    return "info" if severity == Severity.INFO else "failing"


def host_verdict(findings: Iterable[Mapping[str, Any]]) -> str:
    """The worst of VERDICTS that one host's findings give."""
    found = set()
    for finding in findings:
        bucket = summary_bucket(finding)
        critical = bucket == "failing" and str(finding["severity"]) == Severity.CRITICAL
        found.add("critical" if critical else bucket)
    named = {"unreached": "unreachable", "failing": "mismatch"}
    return next((v for v in VERDICTS if v in {named.get(b, b) for b in found}), "ok")


def host_verdicts(findings: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each host's verdict, by host name."""
    by_host: dict[str, list[Mapping[str, Any]]] = {}
    for finding in findings:
        by_host.setdefault(str(finding["host"]), []).append(finding)
    return {host: host_verdict(items) for host, items in sorted(by_host.items())}


# Each verdict in words, for the line that closes a run (worst first, as VERDICTS).
VERDICT_WORDS = {
    "critical": "CRITICAL, possibly another machine or a changed host key",
    "unreachable": "not reached by every source",
    "mismatch": "not as the inventory says",
    "error": "with a check that could not be made",
    "ok": "as the inventory says",
}


def verdict_words(verdicts: Mapping[str, str], most: int = 5) -> str:
    """The hosts' verdicts (`host_verdicts`) in words, worst first, naming at most MOST
    hosts of each: `verdict: 1 not reached by every source (web01); 2 as the inventory says`.
    """
    by_verdict: dict[str, list[str]] = {}
    for host, verdict in sorted(verdicts.items()):
        by_verdict.setdefault(verdict, []).append(host)
    if not by_verdict:
        return "verdict: no host was verified"
    if set(by_verdict) == {"ok"}:
        count = len(verdicts)
        return f"verdict: {'the host is' if count == 1 else f'all {count} hosts are'} as the " + (
            "inventory says"
        )
    parts = [_verdict_part(v, by_verdict[v], most) for v in VERDICTS if v in by_verdict]
    return "verdict: " + "; ".join(parts)


def _verdict_part(verdict: str, hosts: list[str], most: int) -> str:
    words = f"{len(hosts)} {VERDICT_WORDS[verdict]}"
    if verdict == "ok":
        return words
    more = f" and {len(hosts) - most} more" if len(hosts) > most else ""
    return f"{words} ({', '.join(hosts[:most])}{more})"
