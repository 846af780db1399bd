"""The evidence gates of a ticket's steps: one function per evidence kind of the SOP.

A gate takes (session, ticket, step) and returns what is missing, in words, one item per line of
the refusal (`dinkes-web01: no post snapshot under ticket 2026/0001`); an empty list is a
gate met. Never a bare False: the one who runs `ticket advance` must learn what to do. A
kind whose evidence is not built yet refuses and says so: never a silent pass.

The ticket finds its evidence by reference: verification runs, snapshots and stored diffs
carry the ticket's reference (`verify --ticket`, `snapshot take --ticket`, `snapshot diff
--ticket`); the collector stays ignorant of tickets. The evidence of steps 5, 6, 8 and 9 and
the files attached are the ticket's own records (`ticket_record`, `records.py`), added by
`ticket advance`'s options (`evidence.py`) and `ticket attach`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.collector.diff_store import stored_diffs
from pelihara.collector.findings import Status
from pelihara.collector.models import SnapshotDiffRecord, SnapshotRecord, VerifyFinding, VerifyRun
from pelihara.maintenance.models import Ticket, TicketServer
from pelihara.maintenance.records import records_of
from pelihara.maintenance.sop import Step
from pelihara.maintenance.withdrawal import withdrawal_decision

Gate = Callable[[Session, Ticket, Step], list[str]]
UNREACHED = (Status.UNREACHABLE.value, Status.ERROR.value)


def verification_run(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Step 4: a finished verification run of this ticket looked at every server, and the
    latest run that looked at each reached it. Mismatches do not block (the report carries
    them)."""
    ref = ticket.reference
    latest = _latest_findings(session, ref)
    missing = []
    for server in ticket.servers:
        findings = latest.get(server.host)
        if findings is None:
            missing.append(f"{server.host}: no verification run of ticket {ref} looked at it "
                           f"(`pelihara verify run {server.host} --ticket {ref}`)")  # fmt: skip
            continue
        missing.extend(_unreached(server.host, findings))
    return missing


def _latest_findings(session: Session, reference: str) -> dict[str, list[VerifyFinding]]:
    """Per host, the findings of the newest finished run of REFERENCE that looked at it."""
    stmt = (select(VerifyFinding).join(VerifyRun)
            .where(VerifyRun.ticket == reference, VerifyRun.finished_at.is_not(None))
            .order_by(VerifyRun.id, VerifyFinding.id))  # fmt: skip
    latest: dict[str, list[VerifyFinding]] = {}
    newest_run: dict[str, int] = {}
    for finding in session.scalars(stmt):
        if newest_run.get(finding.host) != finding.run_id:
            newest_run[finding.host], latest[finding.host] = finding.run_id, []
        latest[finding.host].append(finding)
    return latest


def _unreached(host: str, findings: Iterable[VerifyFinding]) -> list[str]:
    return [f"{host}: {f.source} did not reach it in verification run {f.run_id} "
            f"({f.message or f.status}): verify it again once it answers"
            for f in findings if f.status in UNREACHED]  # fmt: skip


def snapshots_and_diff(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Step 7: a `pre` and a `post` snapshot of every server under this ticket, and a stored
    diff of each made from its latest `post` (a post taken after the diff needs it again)."""
    ref = ticket.reference
    phases = _snapshots(session, ref)
    diffs = {record.server_id: record for record in stored_diffs(session, ref)}  # latest wins
    missing: list[str] = []
    for server in ticket.servers:
        taken = phases.get(server.server_id, {})
        absent = [phase for phase in ("pre", "post") if phase not in taken]
        missing.extend(f"{server.host}: no {phase} snapshot under ticket {ref} (`pelihara "
                       f"snapshot take {server.host} --ticket {ref} --phase {phase}`)"
                       for phase in absent)  # fmt: skip
        if not absent:
            missing.extend(_diff_missing(server, diffs, taken["post"], ref))
    return missing


def _snapshots(session: Session, reference: str) -> dict[int, dict[str, int]]:
    """Per server id, the newest snapshot id of each phase taken under REFERENCE."""
    stmt = (select(SnapshotRecord.server_id, SnapshotRecord.phase, SnapshotRecord.id)
            .where(SnapshotRecord.ticket == reference).order_by(SnapshotRecord.id))  # fmt: skip
    found: dict[int, dict[str, int]] = {}
    for server_id, phase, snapshot_id in session.execute(stmt):
        found.setdefault(server_id, {})[phase] = snapshot_id
    return found


def _diff_missing(server: TicketServer, diffs: Mapping[int, SnapshotDiffRecord], post: int, ref: str
                  ) -> list[str]:  # fmt: skip
    record = diffs.get(server.server_id)
    again = f"(`pelihara snapshot diff --ticket {ref}`)"
    if record is None:
        return [f"{server.host}: no stored diff of its snapshots under ticket {ref} {again}"]
    if record.after_snapshot_id != post:
        return [f"{server.host}: the stored diff is older than post snapshot {post} {again}"]
    return []


def the_step_itself(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Receipt (step 10) and review (step 11): doing the step, by its role, is the evidence;
    the role check is the gate."""
    return []


def completeness_form(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Step 5: the completeness form, generated from the inventory, confirmed by a contact of
    the ticket's OPD (`--confirmed-by NAME`)."""
    if records_of(ticket, "completeness_form"):
        return []
    return [f"completeness form not confirmed by the OPD: ticket advance {ticket.reference} "
            f"--step {step.number} --confirmed-by NAME (a contact of {ticket.opd_name} in "
            "pelihara.toml)"]  # fmt: skip


def announcement(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Step 6: the stop of the service was announced, to whom and how."""
    if records_of(ticket, "announcement"):
        return []
    return [f"no announcement recorded: mail it with `pelihara announce {ticket.reference} "
            f"--send`, or record one made otherwise: ticket advance {ticket.reference} --step "
            f"{step.number} --announced-to WHOM --channel TEXT (surat, email, whatsapp, "
            "situs web, ...)"]  # fmt: skip


def report(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Step 9: the report (*Berita Acara Pekerjaan*), its file kept by its hash."""
    if records_of(ticket, "report"):
        return []
    return [
        f"no report (Berita Acara): generate it with `pelihara report {ticket.reference}`, "
        "or give the one signed on paper with --report FILE"
    ]


def attachment(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """A step of a related SOP that asks for a file (a photo, a scan): one attached to it."""
    if records_of(ticket, "attachment", step.number):
        return []
    return [f"no file attached to step {step.number}: pelihara ticket attach "
            f"{ticket.reference} FILE --step {step.number}"]  # fmt: skip


def not_available(kind: str, comes_with: str) -> Gate:
    """The gate of a kind whose evidence pelihara cannot record yet: it refuses, saying so."""

    def gate(session: Session, ticket: Ticket, step: Step) -> list[str]:
        return [f"not available yet: {kind} comes with {comes_with}"]

    return gate


GATES: dict[str, Gate] = {
    "verification_run": verification_run,
    "completeness_form": completeness_form,
    "announcement": announcement,
    "snapshots_and_diff": snapshots_and_diff,
    "withdrawal_decision": withdrawal_decision,
    "report": report,
    "receipt": the_step_itself,
    "review": the_step_itself,
    "attachment": attachment,
}


def missing_evidence(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Everything STEP's evidence still lacks for TICKET, every kind's gate asked."""
    return [item for kind in step.evidence for item in GATES[kind](session, ticket, step)]
