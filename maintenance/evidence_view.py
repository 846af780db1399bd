"""What `ticket show` says of each step's evidence: the evidence linked to it, what is still
missing for the next step, and where each step stands.

The links are found as the gates find them, by the ticket's reference and by step:

- a step naming `verification_run`: the finished verification runs of the ticket, each
  with its id and its verdicts counted per host (`run 12: web01 30 ok, 2 mismatch`);
- a step naming `snapshots_and_diff`: per server its newest `pre` and `post` snapshot ids
  and its latest stored diff id;
- every step: the ticket's records for it (`ticket_record`: the completeness form and who
  confirmed it, the announcement and to whom, withdrawals with their serials, the decision
  that none was withdrawn, the report, attached files), and its own scans (`--attach`).

A step's `evidence_status`: `recorded` (done, with its evidence), `missing` (the next step,
its gates not met: `missing` says what), `ready` (the next step, nothing missing),
`waiting` (a later step), `none needed` (the SOP asks no evidence of it, and none is
linked). The gates are asked only for the next step: the evidence of a later one may still
come, and a done step's gate was met when it was done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pelihara.collector.diff_store import stored_diffs
from pelihara.collector.models import SnapshotRecord, VerifyFinding, VerifyRun
from pelihara.core.times import iso_text
from pelihara.maintenance.gates import missing_evidence
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.records import record_dict
from pelihara.maintenance.sop import Sop, Step

RECORDED, MISSING, READY, WAITING, NONE_NEEDED = (
    "recorded", "missing", "ready", "waiting", "none needed"
)  # fmt: skip
HASH_SHOWN = 12  # hex digits of a SHA-256 in the table; the JSON has all 64


@dataclass(frozen=True)
class Link:
    """One piece of evidence linked to a step: TEXT for the table, DATA (ids, hashes) for
    the JSON."""

    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.data}


@dataclass(frozen=True)
class StepEvidence:
    """Where one step's evidence stands: STATUS, what is MISSING (the next step only), the
    LINKS found."""

    status: str
    missing: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


def short(sha256: str | None) -> str:
    """`3f2a9c01b7de…`: a SHA-256 as the table shows it."""
    return f"{sha256[:HASH_SHOWN]}…" if sha256 else "-"


def _run_links(session: Session, reference: str) -> list[Link]:
    """The finished verification runs of REFERENCE, oldest first, verdicts per host."""
    stmt = (select(VerifyRun.id, VerifyRun.finished_at, VerifyFinding.host,
                   VerifyFinding.status, func.count())
            .join(VerifyFinding, VerifyFinding.run_id == VerifyRun.id)
            .where(VerifyRun.ticket == reference, VerifyRun.finished_at.is_not(None))
            .group_by(VerifyRun.id, VerifyRun.finished_at, VerifyFinding.host,
                      VerifyFinding.status)
            .order_by(VerifyRun.id, VerifyFinding.host, VerifyFinding.status))  # fmt: skip
    runs: dict[int, dict[str, Any]] = {}
    for run_id, finished, host, status, count in session.execute(stmt):
        when = iso_text(finished) if finished else None
        run = runs.setdefault(run_id, {"run": run_id, "finished_at": when, "hosts": {}})
        run["hosts"].setdefault(host, {})[status] = count
    return [Link("verification_run", _run_text(data), data) for data in runs.values()]


def _run_text(data: dict[str, Any]) -> str:
    hosts = "; ".join(f"{host} " + ", ".join(f"{n} {status}" for status, n in counts.items())
                      for host, counts in data["hosts"].items())  # fmt: skip
    return f"verify run {data['run']}: {hosts}"


def _snapshot_links(session: Session, ticket: Ticket) -> list[Link]:
    """Per server of TICKET: its newest pre and post snapshot and its latest stored diff."""
    stmt = (select(SnapshotRecord.server_id, SnapshotRecord.phase, SnapshotRecord.id)
            .where(SnapshotRecord.ticket == ticket.reference)
            .order_by(SnapshotRecord.id))  # fmt: skip
    taken: dict[int, dict[str, int]] = {}
    for server_id, phase, snapshot_id in session.execute(stmt):
        taken.setdefault(server_id, {})[phase] = snapshot_id
    diffs = {d.server_id: d for d in stored_diffs(session, ticket.reference)}
    links = []
    for server in ticket.servers:
        phases, diff = taken.get(server.server_id, {}), diffs.get(server.server_id)
        if not phases and diff is None:
            continue
        data = {"host": server.host, "pre_snapshot": phases.get("pre"),
                "post_snapshot": phases.get("post"), "diff": diff.id if diff else None,
                "diff_sha256": diff.sha256 if diff else None}  # fmt: skip
        links.append(Link("snapshots_and_diff", _snapshot_text(data), data))
    return links


def _snapshot_text(data: dict[str, Any]) -> str:
    def said(key: str) -> str:
        return str(data[key]) if data[key] is not None else "none"

    return (f"{data['host']}: pre snapshot {said('pre_snapshot')}, post snapshot "
            f"{said('post_snapshot')}, stored diff {said('diff')}")  # fmt: skip


def record_text(row: TicketRecord, data: dict[str, Any]) -> str:
    """A ticket record in one line of the table, by its kind."""
    content = data.get("data") or {}
    by = data.get("on_behalf_of") or data.get("person")
    texts = {
        "completeness_form": f"completeness form {short(row.sha256)} confirmed by "
                             f"{content.get('confirmed_by') or by}",
        "announcement": "announcement to " + _names(content.get("to")),
        "withdrawal": f"withdrawal of {row.serial}"
                      + (f" ({content['reason']})" if content.get("reason") else ""),
        "no_withdrawal": "no device withdrawn",
        "report": f"report {short(row.sha256)}",
        "attachment": f"attachment {content.get('name', '')} {short(row.sha256)}".replace(
            "  ", " "),
    }  # fmt: skip
    return f"{texts.get(row.kind, row.kind)} (record {row.id}, {by})"


def _names(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "-"
    return str(value) if value else "-"


def _record_links(ticket: Ticket, step: int) -> list[Link]:
    links = []
    for row in ticket.records:
        if row.step == step:
            data = {"record": row.id, **record_dict(row)}
            links.append(Link(row.kind, record_text(row, data), data))
    return links


def _scan_links(ticket: Ticket, step: int) -> list[Link]:
    """The scans given with the step itself (`ticket advance --attach`)."""
    done = next((s for s in ticket.steps if s.step == step), None)
    hashes = (done.attachments or "").split() if done is not None else []
    return [Link("scan", f"scan {short(sha)}", {"sha256": sha}) for sha in hashes]


def step_links(session: Session, ticket: Ticket, sop: Sop) -> dict[int, list[Link]]:
    """Every step's evidence found for TICKET, by step number."""
    kinds = {kind for step in sop.steps for kind in step.evidence}
    runs = _run_links(session, ticket.reference) if "verification_run" in kinds else []
    snapshots = _snapshot_links(session, ticket) if "snapshots_and_diff" in kinds else []
    found = {}
    for step in sop.steps:
        links = [*(runs if "verification_run" in step.evidence else ()),
                 *(snapshots if "snapshots_and_diff" in step.evidence else ())]  # fmt: skip
        found[step.number] = [*links, *_record_links(ticket, step.number),
                              *_scan_links(ticket, step.number)]  # fmt: skip
    return found


def status_of(step: Step, done: bool, following: bool, missing: Sequence[str],
              links: Sequence[Link]) -> str:  # fmt: skip
    """Where STEP's evidence stands: DONE, the FOLLOWING (next) step, or a later one."""
    if done:
        return RECORDED if step.evidence or links else NONE_NEEDED
    if not step.evidence:
        return NONE_NEEDED
    if following:
        return MISSING if missing else READY
    return WAITING


def ticket_evidence(session: Session, ticket: Ticket, sop: Sop) -> dict[int, StepEvidence]:
    """Each step of SOP for TICKET: its evidence status, what is missing, its links. The
    gates of the next step are asked (`gates.missing_evidence`); nothing is written."""
    done = {record.step for record in ticket.steps}
    following = next((s for s in sop.steps if s.number not in done), None)
    links = step_links(session, ticket, sop)
    found = {}
    for step in sop.steps:
        is_next = following is not None and step.number == following.number
        missing = tuple(missing_evidence(session, ticket, step)) if is_next else ()
        status = status_of(step, step.number in done, is_next, missing, links[step.number])
        found[step.number] = StepEvidence(status, missing, tuple(links[step.number]))
    return found
