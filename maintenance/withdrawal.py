"""The gate of step 8 of the SOP: the withdrawal decision.

The ticket says either that no device was withdrawn (a `no_withdrawal` record: `ticket
advance --step 8 --no-withdrawal`) or which were (`withdrawal` records, `ticket withdraw`:
`withdraw.py`), never both; and every part that vanished between the pre and post
snapshots (the ticket's latest stored diff of each server) has its withdrawal record:

>>> withdrawal_decision(session, ticket, sop.step(8))            # doctest: +SKIP
['dinkes-web01: disk S3Z1NB0K vanished between the pre and post snapshots (diff 4) without
a withdrawal record: pelihara ticket withdraw 2026/0001 --component S3Z1NB0K --reason TEXT']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.collector.diff_store import stored_diffs
from pelihara.collector.models import SnapshotDiffRecord
from pelihara.collector.snapshot_store import load_snapshot
from pelihara.core.times import iso_text
from pelihara.facts.model import FactsFormatError
from pelihara.facts.snapshot import snapshot_from_json
from pelihara.facts.vanished import VanishedPart, serials_of, vanished_parts
from pelihara.inventory.models import Component, ComponentStatus
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.records import records_of
from pelihara.maintenance.sop import Step

EVIDENCE = "withdrawal_decision"
WITHDRAWAL, NO_WITHDRAWAL = "withdrawal", "no_withdrawal"


def withdrawal_decision(session: Session, ticket: Ticket, step: Step) -> list[str]:
    """Step 8: a decision (withdrawals, or that none was withdrawn; not both), and every
    part that vanished in the ticket's stored diffs withdrawn under it."""
    withdrawals = records_of(ticket, WITHDRAWAL)
    missing = _decision(ticket, step, withdrawals, records_of(ticket, NO_WITHDRAWAL))
    withdrawn = {str(record.serial) for record in withdrawals}
    return missing + _unrecorded(session, ticket, withdrawn)


def _serials(records: Iterable[TicketRecord]) -> str:
    return ", ".join(str(record.serial) for record in records)


def _decision(ticket: Ticket, step: Step, withdrawals: Sequence[TicketRecord],
              none: Sequence[TicketRecord]) -> list[str]:  # fmt: skip
    ref = ticket.reference
    if withdrawals and none:
        return [f"ticket {ref} records both that no device was withdrawn (by "
                f"{none[0].person_name}, {iso_text(none[0].recorded_at)}) and withdrawals of "
                f"{_serials(withdrawals)}: a contradiction; advance step {step.number} "
                "without --no-withdrawal"]  # fmt: skip
    if withdrawals or none:
        return []
    return [f"no withdrawal decision on ticket {ref}: record each component taken out "
            f"(`pelihara ticket withdraw {ref} --component SERIAL --reason TEXT`), or that "
            f"none was (`pelihara ticket advance {ref} --step {step.number} "
            "--no-withdrawal`)"]  # fmt: skip


def _latest_diffs(session: Session, ticket: Ticket) -> list[SnapshotDiffRecord]:
    """Each server's latest stored diff of TICKET (what the server was last judged by)."""
    latest = {record.server_id: record for record in stored_diffs(session, ticket.reference)}
    return sorted(latest.values(), key=lambda record: record.host)


def _after(session: Session, record: SnapshotDiffRecord) -> frozenset[str]:
    """The serials the diff's post snapshot still saw (none known if it cannot be read:
    then every removed serial counts, never a silent pass)."""
    try:
        snapshot = snapshot_from_json(load_snapshot(session, record.after_snapshot_id).document)
    except FactsFormatError:
        return frozenset()
    return serials_of(snapshot.facts)


def _inventory(session: Session, serials: set[str]) -> dict[str, Component]:
    if not serials:
        return {}
    stmt = select(Component).where(Component.serial.in_(sorted(serials)))
    return {str(component.serial): component for component in session.scalars(stmt)}


def _unrecorded(session: Session, ticket: Ticket, withdrawn: set[str]) -> list[str]:
    """A line per part that vanished in a stored diff without a withdrawal record. A part
    the inventory has withdrawn already (under another ticket) is not asked again."""
    vanished = [(record, part) for record in _latest_diffs(session, ticket)
                for part in vanished_parts(json.loads(record.document), _after(session, record))
                if part.serial not in withdrawn]  # fmt: skip
    known = _inventory(session, {part.serial for _, part in vanished})
    missing = []
    for record, part in vanished:
        component = known.get(part.serial)
        if component is None or component.status != ComponentStatus.WITHDRAWN.value:
            missing.append(_vanished_line(ticket.reference, record, part, component is not None))
    return missing


def _vanished_line(ref: str, record: SnapshotDiffRecord, part: VanishedPart, known: bool) -> str:
    where = (f"{record.host}: {part.kind} {part.serial} vanished between the pre and post "
             f"snapshots (diff {record.id})")  # fmt: skip
    withdraw = f"pelihara ticket withdraw {ref} --component {part.serial} --reason TEXT"
    if known:
        return f"{where} without a withdrawal record: {withdraw}"
    return (f"{where} and is not in the inventory: add it to {record.host}'s components "
            f"(`pelihara inventory import-components FILE`), then {withdraw}")  # fmt: skip
