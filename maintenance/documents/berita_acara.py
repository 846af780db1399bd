"""The data of the *Berita Acara Pemeliharaan Server* (SOP step 9), read from what the
ticket holds: a plain dict, every list sorted, every time an ISO text in UTC, so the same
records give the same canonical JSON and the same hash.

`report_content(session, ticket, sop, setting, lang)` is everything the records say and no
time of its own; `report_data(content, generation)` adds when it was generated and the
audit log's head at that moment (`generate.py` fixes both in a `report` record, so the
document made again from the same records is the same document). Sections (keys):

- `organisation` (the letterhead; `logo` a data URI or None), `number` (`BA/2026/0001`:
  "BA/" and the ticket's reference), `sop` (name, title, number, revision), `ticket`,
  `request` (OPD, letter number and date, summary, work window);
- `servers`: from the inventory (hostname, domain, addresses, site/rack/unit,
  vendor/model/serial, asset tag), each with its `diff` (the latest stored diff of the
  ticket: id, SHA-256, identity verdict, changes, expected-but-missing intents) and its
  `chart` (an SVG or PNG data URI the caller gives, or None: "no health series");
- `timeline`: the SOP's steps, who did each (and for whom), when, service level met or
  missed (a step not done has no verdict here: the report states what was done);
- `findings`: step 4's findings that are not ok, from each host's latest run;
- `withdrawn`: the `withdrawal` records; `attachments`: the `attachment` records and the
  steps' scans, each `thumbnail` a data URI the caller gives, or None;
- `signatures`: made by (who did step 9, else step 7, else the first Tim Data Center
  member configured), received by (step 10, else the Kepala Bidang configured), reviewed
  by (step 11, else the Kepala Dinas configured); who signed on paper when recorded for;
- `evidence`: the SHA-256 of every snapshot, stored diff, verification run (of its
  findings' canonical JSON), ticket record (of its canonical JSON) and attached file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.collector.diff_store import stored_diffs
from pelihara.collector.findings import Status
from pelihara.collector.models import SnapshotDiffRecord, SnapshotRecord, VerifyFinding, VerifyRun
from pelihara.core.canonical import sha256_hex
from pelihara.core.times import iso_text
from pelihara.inventory.audit import Head
from pelihara.maintenance.calendar import WorkCalendar
from pelihara.maintenance.documents.render import letterhead
from pelihara.maintenance.documents.signatures import signatures
from pelihara.maintenance.forms import completeness_form
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.organisation import Organisation
from pelihara.maintenance.people import People
from pelihara.maintenance.records import record_dict
from pelihara.maintenance.sop import Sop
from pelihara.maintenance.ticket_view import step_views

NUMBER_PREFIX = "BA/"
GENERATED = "generated"  # a report record's source when `pelihara report` made it
SERVER_FIELDS = ("hostname", "domain", "site", "rack", "rack_unit", "vendor", "model",
                 "serial", "asset_tag", "addresses")  # fmt: skip
FINDING_FIELDS = ("host", "check", "source", "status", "severity", "expected", "observed",
                  "message")  # fmt: skip


@dataclass(frozen=True)
class Setting:
    """What the configuration gives a document: the letterhead, the people who sign, the
    working-day calendar (its zone is the data center's)."""

    organisation: Organisation
    people: People
    calendar: WorkCalendar


@dataclass(frozen=True)
class Extras:
    """What other modules render for the report, by the caller: CHARTS per hostname (a
    data URI of an SVG or PNG, None: no series), THUMBNAILS per attachment SHA-256, and
    CHARTS_UNREAD, why no chart was read (the store could not be read), or None."""

    charts: Mapping[str, str | None] = field(default_factory=dict)
    thumbnails: Mapping[str, str | None] = field(default_factory=dict)
    charts_unread: str | None = None  # why the store could not be read (then no chart is)


NO_EXTRAS = Extras()


@dataclass(frozen=True)
class Generation:
    """When the report was first generated from these records, and the audit log's head
    then (before the report's own record)."""

    at: datetime
    audit_head: Head


def document_number(ticket: Ticket) -> str:
    """`BA/2026/0001`: one Berita Acara per ticket, numbered by the ticket's reference."""
    return f"{NUMBER_PREFIX}{ticket.reference}"


def report_content(
    session: Session, ticket: Ticket, sop: Sop, setting: Setting, lang: str,
    extras: Extras = NO_EXTRAS,
) -> dict[str, Any]:  # fmt: skip
    """Everything TICKET's records say for the report, in LANG (see the module)."""
    own = [r for r in ticket.records if not is_generated_report(r)]
    diffs = latest_diffs(session, ticket.reference)
    return {
        "lang": lang, "organisation": letterhead(setting.organisation),
        "number": document_number(ticket), "ticket": ticket.reference,
        "sop": {"name": ticket.sop_name, "title": sop.title.in_language(lang),
                "number": sop.number, "revision": ticket.sop_revision},
        "request": _request(ticket),
        "servers": _servers(session, ticket, diffs, extras.charts),
        "charts_unread": extras.charts_unread,
        "timeline": _timeline(ticket, sop, setting.calendar, lang),
        "findings": _findings(session, ticket.reference),
        "withdrawn": [_withdrawn(r) for r in own if r.kind == "withdrawal"],
        "attachments": _attachments(ticket, own, extras.thumbnails),
        "signatures": signatures(ticket, setting.people),
        "evidence": _evidence(session, ticket.reference, own, diffs),
    }  # fmt: skip


def report_data(content: Mapping[str, Any], generation: Generation) -> dict[str, Any]:
    """CONTENT with its generation: the time (the document's date) and the audit head."""
    head = generation.audit_head
    return {**content, "generated_at": iso_text(generation.at),
            "audit_head": {"seq": head.seq, "hash": head.hash}}  # fmt: skip


def is_generated_report(record: TicketRecord) -> bool:
    """A `report` record `pelihara report` wrote: the report's own, not its evidence."""
    return record.kind == "report" and json.loads(record.data).get("source") == GENERATED


def _request(ticket: Ticket) -> dict[str, Any]:
    window = [iso_text(m) for m in (ticket.window_start, ticket.window_end) if m]
    return {"opd": ticket.opd_name, "letter_number": ticket.letter_number,
            "letter_date": ticket.letter_date.isoformat(), "summary": ticket.summary,
            "window": window or None}  # fmt: skip


def latest_diffs(session: Session, reference: str) -> dict[int, SnapshotDiffRecord]:
    """Per server id, the latest diff stored for REFERENCE (hashes checked)."""
    return {record.server_id: record for record in stored_diffs(session, reference)}


def _servers(
    session: Session, ticket: Ticket, diffs: Mapping[int, SnapshotDiffRecord],
    charts: Mapping[str, str | None],
) -> list[dict[str, Any]]:  # fmt: skip
    by_host = {record.host: record for record in diffs.values()}
    found = []
    for entry in completeness_form(session, ticket)["servers"]:
        server = {name: entry[name] for name in SERVER_FIELDS}
        server["diff"] = _diff(by_host.get(entry["hostname"]))
        server["chart"] = charts.get(entry["hostname"])
        found.append(server)
    return found


def _diff(record: SnapshotDiffRecord | None) -> dict[str, Any] | None:
    """The diff's parts the report prints (its whole document is proven by its hash)."""
    if record is None:
        return None
    document = json.loads(record.document)
    return {"id": record.id, "sha256": record.sha256,
            "before": record.before_snapshot_id, "after": record.after_snapshot_id,
            "identity": document["identity"]["verdict"], "changes": document["changes"],
            "missing_intents": [_intent_text(i) for i in document["missing_intents"]],
            "intents_given": record.intents is not None}  # fmt: skip


def _intent_text(intent: Mapping[str, Any]) -> str:
    """`replace disk serial=WD-1`: an intent as one line."""
    rest = " ".join(f"{k}={v}" for k, v in sorted(intent.items()) if k != "action")
    return f"{intent['action']} {rest}".strip()


def _timeline(ticket: Ticket, sop: Sop, cal: WorkCalendar, lang: str) -> list[dict[str, Any]]:
    """The SOP's steps: done by whom (and for whom), when, and the service level of a
    done step (no clock is read: a step not done has no verdict in the report)."""
    rows = []
    for view in step_views(ticket, sop, cal, ticket.created_at):
        done = view.done
        rows.append({
            "step": view.step.number, "name": view.step.label(lang),
            "done_at": iso_text(done.done_at) if done else None,
            "by": done.person_name if done else None,
            "on_behalf_of": done.on_behalf_of_name if done else None,
            "sla": view.state if done else None,
        })  # fmt: skip
    return rows


def _findings(session: Session, reference: str) -> list[dict[str, Any]]:
    """Per host, the findings that are not ok of the newest finished run that looked at
    it, with the run's id."""
    stmt = (select(VerifyFinding).join(VerifyRun)
            .where(VerifyRun.ticket == reference, VerifyRun.finished_at.is_not(None))
            .order_by(VerifyRun.id, VerifyFinding.id))  # fmt: skip
    latest: dict[str, list[VerifyFinding]] = {}
    run_of: dict[str, int] = {}
    for finding in session.scalars(stmt):
        if run_of.get(finding.host) != finding.run_id:
            run_of[finding.host], latest[finding.host] = finding.run_id, []
        latest[finding.host].append(finding)
    return [{**{n: getattr(f, n) for n in FINDING_FIELDS}, "run": f.run_id}
            for host in sorted(latest) for f in latest[host]
            if f.status != Status.OK.value]  # fmt: skip


def _withdrawn(record: TicketRecord) -> dict[str, Any]:
    data = json.loads(record.data)
    return {"serial": record.serial, "kind": data.get("kind"), "model": data.get("model"),
            "server": data.get("server"), "slot": data.get("slot"),
            "reason": data.get("reason"), "taken_by": data.get("taken_by"),
            "at": iso_text(record.recorded_at), "by": record.person_name}  # fmt: skip


def _attachments(
    ticket: Ticket, records: list[TicketRecord], thumbnails: Mapping[str, str | None]
) -> list[dict[str, Any]]:
    """The files attached to the ticket (`ticket attach`) and the steps' scans."""
    found = []
    for record in records:
        if record.kind == "attachment" and record.sha256:
            data = json.loads(record.data)
            found.append({"step": record.step, "name": data.get("name"), "size": data.get("size"),
                          "sha256": record.sha256})  # fmt: skip
    for step in ticket.steps:
        for sha256 in (step.attachments or "").split():
            found.append({"step": step.step, "name": None, "size": None, "sha256": sha256})
    for item in found:
        item["thumbnail"] = thumbnails.get(item["sha256"])
    return found


def _evidence(
    session: Session, reference: str, records: list[TicketRecord],
    diffs: Mapping[int, SnapshotDiffRecord],
) -> list[dict[str, Any]]:  # fmt: skip
    """Every piece of evidence of the ticket, by kind and id, with its SHA-256."""
    stmt = (select(SnapshotRecord.id, SnapshotRecord.host, SnapshotRecord.phase,
                   SnapshotRecord.sha256)
            .where(SnapshotRecord.ticket == reference).order_by(SnapshotRecord.id))  # fmt: skip
    found = [{"kind": "snapshot", "id": i, "about": f"{host} {phase}", "sha256": sha256}
             for i, host, phase, sha256 in session.execute(stmt)]  # fmt: skip
    found += [{"kind": "snapshot_diff", "id": d.id, "about": d.host, "sha256": d.sha256}
              for d in sorted(diffs.values(), key=lambda d: d.id)]  # fmt: skip
    found += _run_hashes(session, reference)
    found += [{"kind": f"record {r.kind}", "id": r.id, "about": f"step {r.step}",
               "sha256": sha256_hex(record_dict(r))} for r in records]  # fmt: skip
    found += [{"kind": "file", "id": None, "about": f"record {r.id}", "sha256": r.sha256}
              for r in records if r.sha256 and r.kind != "completeness_form"]  # fmt: skip
    return found


def _run_hashes(session: Session, reference: str) -> list[dict[str, Any]]:
    """Each finished verification run of REFERENCE, hashed over its findings."""
    stmt = (select(VerifyFinding).join(VerifyRun)
            .where(VerifyRun.ticket == reference, VerifyRun.finished_at.is_not(None))
            .order_by(VerifyRun.id, VerifyFinding.id))  # fmt: skip
    runs: dict[int, list[dict[str, Any]]] = {}
    for f in session.scalars(stmt):
        runs.setdefault(f.run_id, []).append({n: getattr(f, n) for n in FINDING_FIELDS})
    return [{"kind": "verify_run", "id": run, "about": ", ".join(sorted({f["host"] for f in fs})),
             "sha256": sha256_hex(fs)} for run, fs in runs.items()]  # fmt: skip
