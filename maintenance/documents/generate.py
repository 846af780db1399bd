"""`pelihara report`: the *Berita Acara* made from a ticket's records, recorded on the ticket
as step 9's `report` record, the same document every time the records are the same.

Determinism: the report's content (`berita_acara.report_content`) reads no clock. Its
canonical JSON's SHA-256 is the report's FINGERPRINT. The first generation of a
fingerprint fixes its time (the document's date) and the audit log's head, in a `report`
record (`source: generated`); a later generation of the same fingerprint takes both from
that record, so the HTML, Markdown and PDF are byte for byte the same (WeasyPrint writes no
time of its own: the PDF's creation date is the document's, from the HTML). When a record
changes (a step done, a file attached, the inventory, pelihara.toml's people) the
fingerprint changes: a new generation, a new date, a new record.

One record per (fingerprint, format, language, file hash): its SHA-256 is the file's, and
the file is kept as the attachments are (`attachments/<sha256>`), so step 9's gate (a
`report` record on the ticket) is met by a generated report, and the ticket keeps it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pelihara.core.canonical import sha256_hex
from pelihara.core.errors import ExitCode, PeliharaError
from pelihara.inventory.audit import AuditLog, head, parse_head
from pelihara.maintenance.attach import check_attacher
from pelihara.maintenance.attachments import FileContent, store_file
from pelihara.maintenance.documents.berita_acara import (
    GENERATED,
    NO_EXTRAS,
    Extras,
    Generation,
    Setting,
    is_generated_report,
    report_content,
    report_data,
)
from pelihara.maintenance.documents.labels import BERITA_ACARA
from pelihara.maintenance.documents.render import html_to_pdf, render
from pelihara.maintenance.gates import GATES
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.records import NewRecord, RecordedBy, add_record
from pelihara.maintenance.roles import ROLES
from pelihara.maintenance.sop import Sop, Step
from pelihara.maintenance.tickets import locked

FORMATS = ("pdf", "html", "md")
KIND = "report"
DIFF_KIND = "snapshots_and_diff"  # the evidence a report cannot be made without (step 7)


class ReportRefused(PeliharaError):
    """The ticket lacks what the report is made of (status 3): each missing item named."""

    exit_code = ExitCode.INVALID_INPUT


@dataclass(frozen=True)
class ReportRequest:
    """What `pelihara report` asks: FORMAT (pdf, html, md) in LANG (id, en)."""

    format: str = "pdf"
    lang: str = "id"


@dataclass(frozen=True)
class Report:
    """A report made: its default file NAME, its bytes, their SHA-256, the content's
    FINGERPRINT and CONTENT_SHA256 (printed in its footer), when it was first generated,
    and whether this generation added a record (False: the same one was recorded)."""

    name: str
    content: bytes
    sha256: str
    fingerprint: str
    content_sha256: str
    generated_at: datetime
    recorded: bool


def file_name(ticket: Ticket, fmt: str) -> str:
    """`berita-acara-2026-0001.pdf`."""
    return f"berita-acara-{ticket.reference.replace('/', '-')}.{fmt}"


def step_of(sop: Sop, kind: str) -> Step | None:
    """The step of SOP whose evidence is KIND (found by kind, not by number)."""
    return next((step for step in sop.steps if kind in step.evidence), None)


def check_ready(session: Session, ticket: Ticket, sop: Sop) -> None:
    """Refuse (status 3) a ticket whose step-7 evidence (pre and post snapshots of every
    server, their stored diff) is not all there, naming each missing item."""
    step = step_of(sop, DIFF_KIND)
    if step is None:
        return
    missing = GATES[DIFF_KIND](session, ticket, step)
    if missing:
        lines = "\n".join(f"  - {item}" for item in missing)
        raise ReportRefused(f"no report of ticket {ticket.reference}: the evidence of step "
                            f"{step.number} ({step.label()}) is missing:\n{lines}")  # fmt: skip


def make_report(
    session: Session, ticket: Ticket, sop: Sop, setting: Setting, request: ReportRequest,
    by: RecordedBy, now: datetime, directory: Path, extras: Extras = NO_EXTRAS,
) -> Report:  # fmt: skip
    """The Berita Acara of TICKET as REQUEST asks, recorded on it (the caller commits) and
    its file kept in DIRECTORY; a generation of the same records reuses the first one's
    time and audit head (see the module)."""
    check_attacher(by.person)
    log = locked(session, ticket, by.person.name)  # the head read then is the head
    check_ready(session, ticket, sop)
    content = report_content(session, ticket, sop, setting, request.lang, extras)
    fingerprint = sha256_hex(content)
    generation = earlier_generation(ticket, fingerprint) or Generation(now, head(session))
    data = report_data(content, generation)
    body = render_format(data, request, setting)
    report = Report(file_name(ticket, request.format), body, hashlib.sha256(body).hexdigest(),
                    fingerprint, sha256_hex(data), generation.at, recorded=False)  # fmt: skip
    if _recorded(ticket, report, request):
        return report
    _record(session, log, ticket, sop, by, report, request, data, now)
    store_file(FileContent(report.name, body, report.sha256), directory)
    return Report(**{**report.__dict__, "recorded": True})


def earlier_generation(ticket: Ticket, fingerprint: str) -> Generation | None:
    """The first generation of FINGERPRINT on TICKET: its time and audit head."""
    for record in ticket.records:
        data = _generated_data(record)
        if data is not None and data.get("fingerprint") == fingerprint:
            at = datetime.fromisoformat(data["generated_at"])
            return Generation(at, parse_head(data["audit_head"]))
    return None


def _generated_data(record: TicketRecord) -> dict[str, Any] | None:
    if not is_generated_report(record):
        return None
    data: dict[str, Any] = json.loads(record.data)
    return data


def render_format(data: dict[str, Any], request: ReportRequest, setting: Setting) -> bytes:
    """DATA as the document of REQUEST's format and language."""
    context = {**data, "content_sha256": sha256_hex(data), "t": BERITA_ACARA[request.lang],
               "roles": {key: role.name for key, role in ROLES.items()}}  # fmt: skip
    zone = setting.calendar.zone
    if request.format == "md":
        return render("berita_acara.md", context, zone, request.lang).encode("utf-8")
    html = render("berita_acara.html", context, zone, request.lang)
    return html_to_pdf(html) if request.format == "pdf" else html.encode("utf-8")


def _recorded(ticket: Ticket, report: Report, request: ReportRequest) -> bool:
    """Whether this very document (fingerprint, format, language, bytes) is recorded."""
    wanted = (report.sha256, report.fingerprint, request.format, request.lang)
    for record in ticket.records:
        data = _generated_data(record)
        if data is not None and wanted == (record.sha256, data.get("fingerprint"),
                                           data.get("format"), data.get("lang")):  # fmt: skip
            return True
    return False


def _record(
    session: Session, log: AuditLog, ticket: Ticket, sop: Sop, by: RecordedBy, report: Report,
    request: ReportRequest, data: dict[str, Any], now: datetime,
) -> None:  # fmt: skip
    step = step_of(sop, KIND)
    head_ = data["audit_head"]
    add_record(session, log, ticket, by, NewRecord(KIND, step.number if step else 0, {
        "source": GENERATED, "format": request.format, "lang": request.lang,
        "name": report.name, "size": len(report.content), "generated_at": data["generated_at"],
        "audit_head": f"{head_['seq']}:{head_['hash']}", "fingerprint": report.fingerprint,
        "content_sha256": report.content_sha256,
    }, report.sha256), now)  # fmt: skip
