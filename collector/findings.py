"""Findings: what a verification concluded, one check of one host from one source."""

from __future__ import annotations

from collections.abc import Iterable
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
