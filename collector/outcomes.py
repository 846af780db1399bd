"""A verified host, and a run as JSON-ready data: plain Python, shared by `verify` (which
writes through `run_store`, without SQLAlchemy) and `verify show`/`list` (which read runs
back through the ORM, `runs.py`)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, Severity, Status, host_verdicts
from pelihara.collector.probes.base import KnownHostKey, ProbeResult


@dataclass(frozen=True)
class HostOutcome:
    """One host, verified: the probes' results and the findings drawn from them."""

    expected: Expected
    results: dict[str, ProbeResult]
    findings: list[Finding]


class RunLike(Protocol):
    """A run's own fields, as `verify_run` stores them (`VerifyRun`, or `run_store.RunRow`)."""

    @property
    def id(self) -> int: ...

    @property
    def started_at(self) -> datetime: ...

    @property
    def finished_at(self) -> datetime | None: ...

    @property
    def actor(self) -> str: ...

    @property
    def ticket(self) -> str | None: ...

    @property
    def probes(self) -> str: ...

    @property
    def hosts_total(self) -> int: ...

    @property
    def hosts_done(self) -> int: ...

    @property
    def interrupted(self) -> bool: ...

    @property
    def exit_status(self) -> int | None: ...


class Counted(Protocol):
    """What a run's summary counts of a finding."""

    @property
    def status(self) -> Any: ...

    @property
    def severity(self) -> Any: ...


class FindingLike(Counted, Protocol):
    @property
    def host(self) -> str: ...

    @property
    def check(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def expected(self) -> str | None: ...

    @property
    def observed(self) -> str | None: ...

    @property
    def message(self) -> str: ...


def seen_key(outcome: HostOutcome) -> tuple[int, str, str] | None:
    """(server id, key type, fingerprint) of the host key the SSH probe was let in with."""
    ssh = outcome.results.get("ssh")
    seen = ssh.data.get("host_key") if ssh is not None and ssh.ok else None
    if not seen or outcome.expected.server_id is None:
        return None
    return outcome.expected.server_id, seen["key_type"], seen["fingerprint_sha256"]


# Records a newly trusted key (server id, hostname, key type, fingerprint); returns None
# when it is the key on record now, else the other fingerprint recorded meanwhile.
RecordKey = Callable[[int, str, str, str], str | None]


def with_new_keys(outcome: HostOutcome, record: RecordKey) -> HostOutcome:
    """Trust on first use: the keys OUTCOME's probes newly trusted, each given to RECORD. A
    key of that type that another run recorded meanwhile, different from this one, is a
    CHANGED key: a critical finding more."""
    expected = outcome.expected
    if expected.server_id is None:
        return outcome
    changed = []
    for key in (k for r in outcome.results.values() for k in r.seen_host_keys):
        recorded = record(expected.server_id, expected.hostname, key.key_type,
                          key.fingerprint_sha256)  # fmt: skip
        if recorded is not None:
            changed.append(changed_meanwhile(expected.hostname, key, recorded))
    if not changed:
        return outcome
    return dataclasses.replace(outcome, findings=[*outcome.findings, *changed])


def changed_meanwhile(host: str, key: KnownHostKey, recorded: str) -> Finding:
    return Finding(
        host, "ssh.host_key", "ssh", Status.MISMATCH, Severity.CRITICAL, recorded,
        key.fingerprint_sha256,
        f"HOST KEY CHANGED for {host}: it offered {key.key_type} {key.fingerprint_sha256}, "
        f"while another run recorded {recorded} for it meanwhile; not recorded, and what was "
        "read over this connection is not trusted (check the key on the server's console; "
        "if it was re-keyed, `pelihara inventory forget-host-key`, then "
        "--trust-new-host-keys)",
    )  # fmt: skip


def summary(findings: Sequence[Counted]) -> dict[str, int]:
    """Counts by status, and how many are failing (not merely informative)."""
    counts = Counter(str(f.status) for f in findings)
    counts["failing"] = sum(
        1
        for f in findings
        if f.status in (Status.MISMATCH, Status.MISSING) and f.severity != Severity.INFO
    )
    return dict(sorted(counts.items()))


def run_summary(run: RunLike) -> dict[str, Any]:
    """A run without its findings: what `verify list` shows."""
    return {
        "run": run.id, "started_at": run.started_at, "finished_at": run.finished_at,
        "actor": run.actor, "ticket": run.ticket, "probes": run.probes.split(","),
        "hosts_total": run.hosts_total, "hosts_done": run.hosts_done,
        "interrupted": run.interrupted, "exit_status": run.exit_status,
    }  # fmt: skip


class ObservationLike(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def error(self) -> str | None: ...

    @property
    def data(self) -> dict[str, Any]: ...


def run_document(
    run: RunLike,
    findings: Sequence[FindingLike],
    observations: Sequence[ObservationLike] | None = None,
) -> dict[str, Any]:
    """A run as JSON-ready data (what `--format json` prints): its FINDINGS (as stored, in
    their order) and, when given, its OBSERVATIONS (what each probe saw of each host)."""
    rows = [
        {c: str(getattr(f, c)) if c in ("status", "severity") else getattr(f, c)
         for c in ("host", "check", "source", "status", "severity", "expected", "observed",
                   "message")}
        for f in findings
    ]  # fmt: skip
    document = {
        **run_summary(run), "summary": summary(findings), "findings": rows,
        "verdicts": host_verdicts(rows),  # each host's, the worst of its findings
    }  # fmt: skip
    if observations is not None:
        document["observations"] = [
            {"host": o.host, "source": o.source, "status": o.status, "error": o.error,
             "data": o.data}
            for o in observations
        ]  # fmt: skip
    return document
