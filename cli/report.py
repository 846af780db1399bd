"""`pelihara report`: the Berita Acara of a ticket, as PDF, HTML or Markdown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pelihara.cli.app import App
from pelihara.core.errors import ExitCode, PeliharaError

if TYPE_CHECKING:
    from pelihara.maintenance.documents.berita_acara import Setting
    from pelihara.maintenance.documents.generate import Report, ReportRequest


class OutputExists(PeliharaError):
    """The output file is there and --force was not given (status 2)."""

    exit_code = ExitCode.USAGE


@click.command("report")
@click.argument("reference", metavar="[TICKET]", required=False)
@click.option("--format", "fmt", type=click.Choice(["pdf", "html", "md"]), default="pdf",
              show_default=True, help="PDF to print and sign, HTML, or Markdown for mail "
              "or a wiki.")  # fmt: skip
@click.option("--blank", type=click.Choice(["berita-acara", "completeness", "withdrawal"]),
              help="An empty form, with lines to write on, for recording by hand when "
              "the application is unavailable (no TICKET; pdf or html).")  # fmt: skip
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="Bahasa Indonesia, or English.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              metavar="FILE", help="Where to write it (default: berita-acara-2026-0001.pdf "
              "in the current directory).")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.option(
    "--tsdb",
    "tsdb",
    metavar="URL",
    help="The time-series store of the health charts (default: the embedded one).",
)
@click.pass_obj
def report(app: App, reference: str | None, fmt: str, blank: str | None, lang: str,
           output: Path | None, force: bool, tsdb: str | None) -> None:  # fmt: skip
    """Write the Berita Acara Pemeliharaan Server of a ticket (SOP step 9) and
    record it on the ticket.

    \b
      pelihara report 2026/0001
      pelihara report 2026/0001 --format html -o ba.html
      pelihara report 2026/0001 --format md --lang en
      pelihara report --blank berita-acara      # empty, to fill by hand

    The report holds the letterhead ([organisation] in pelihara.toml), the
    OPD's letter, the servers, the 12 steps (who, when, service level), the
    verification findings not ok, each server's pre/post diff, the withdrawn
    devices, the attachments (photos as thumbnails), each server's health chart
    around its pre and post snapshots (from --tsdb; a store that cannot be read
    is said so in the report and on stderr), the signature blocks, and the
    SHA-256 of every piece of evidence with the audit log's head. Number:
    BA/<ticket>.

    The same records give the same file (same SHA-256): the first generation's
    date and audit head are kept in the ticket's `report` record and reused.
    Prints `SHA256  FILE`. Step 9's gate is met by the generated report.

    --blank FORM writes the empty Berita Acara, completeness or withdrawal form
    (the letterhead from [organisation] when there is one, else a space for it;
    the SOP's steps listed) and records nothing: for the SOP's "dapat dilakukan
    secara manual".

    Exit status: 0 written; 2 refused (not configured, no [organisation], wrong
    role, FILE exists without --force; TICKET with --blank or neither, --format
    md with --blank); 3 the ticket's step-7 evidence (pre and
    post snapshots, their stored diff) is missing, each item named; 6 a
    database error; 7 no such ticket.
    """
    from pelihara.maintenance.actor import refuse_free_actor
    from pelihara.maintenance.documents.generate import ReportRequest

    if blank is not None or reference is None:
        _blank(app, blank, reference, fmt, lang, output, force)
        return
    refuse_free_actor(app.actor, "the report")
    request = ReportRequest(fmt, lang)
    made = _make(app, reference, request, output, force, tsdb)
    path = output if output is not None else Path(made.name)
    _write(path, made.content)
    click.echo(f"{made.sha256}  {path}")
    told = "recorded on the ticket" if made.recorded else "the same as recorded before"
    click.echo(f"{reference}: Berita Acara {fmt}, {told} (generated "
               f"{made.generated_at.isoformat()})", err=True)  # fmt: skip


def _make(app: App, reference: str, request: ReportRequest, output: Path | None,
          force: bool, tsdb: str | None) -> Report:  # fmt: skip
    """Make and record the report in one transaction (who you are, the checks, the record
    with its audit entry); FILE is checked first, written by the caller after the commit."""
    from pelihara.core.paths import attachments_dir
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.actor import establish, identity
    from pelihara.maintenance.documents.extras import report_extras
    from pelihara.maintenance.documents.generate import file_name, make_report
    from pelihara.maintenance.records import RecordedBy
    from pelihara.maintenance.ticket_sop import ticket_sops
    from pelihara.maintenance.tickets import find_ticket

    setting = _setting(app)
    sop_of = ticket_sops(app.config.path.parent, _warn)
    with transaction(app.sessions()) as session:
        who = identity(session)
        person = establish(setting.people, who)
        found = find_ticket(session, reference)
        target = output if output is not None else Path(file_name(found, request.format))
        _check_free(target, force)
        extras = report_extras(session, found, tsdb, app.zone, request.lang, attachments_dir())
        if extras.charts_unread:
            _warn(f"health charts not made: {extras.charts_unread}")
        return make_report(session, found, sop_of(found), setting, request,
                           RecordedBy(person, who.describe()), datetime.now(UTC),
                           attachments_dir(), extras)  # fmt: skip


def _blank(app: App, blank: str | None, reference: str | None, fmt: str, lang: str,
           output: Path | None, force: bool) -> None:  # fmt: skip
    """The empty form BLANK written to OUTPUT; usage errors for a TICKET with it, or none."""
    from pelihara.cli.form import check_free, write_document
    from pelihara.maintenance.calendar import work_calendar
    from pelihara.maintenance.documents.form_render import (
        FormRequest,
        blank_content,
        file_name,
        render_form,
    )
    from pelihara.maintenance.organisation import load_organisation
    from pelihara.maintenance.sop_file import packaged_sop

    if blank is None:
        raise click.UsageError("give a TICKET (pelihara report 2026/0001), or --blank FORM "
                               "for an empty form")  # fmt: skip
    if reference is not None:
        raise click.UsageError(f"--blank {blank} is an empty form: leave TICKET "
                               f"({reference}) out, or --blank out to report on it")  # fmt: skip
    if fmt == "md":
        raise click.UsageError("--blank makes pdf or html (lines to write on), not md")
    path = output or Path(file_name(blank, None, fmt))
    check_free(path, force)
    steps = tuple(step.label(lang) for step in packaged_sop().steps)
    data = blank_content(blank, load_organisation(app.config), lang, steps)
    write_document(path, render_form(data, FormRequest(fmt, lang), work_calendar(app.config).zone))


def _warn(text: str) -> None:
    from pelihara.cli.output import warning

    warning(text)


def _setting(app: App) -> Setting:
    from pelihara.core.errors import ConfigurationError
    from pelihara.maintenance.calendar import work_calendar
    from pelihara.maintenance.documents.berita_acara import Setting
    from pelihara.maintenance.organisation import load_organisation
    from pelihara.maintenance.people import load_people

    organisation = load_organisation(app.config)
    if organisation is None:
        raise ConfigurationError(
            f"{app.config.path}: no [organisation]: the report's letterhead needs it "
            '(government = "Pemerintah Kota Contoh", unit = "Dinas Komunikasi dan '
            'Informatika", address = "..."; see examples/pelihara.toml)'
        )
    return Setting(organisation, load_people(app.config), work_calendar(app.config))


def _check_free(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise OutputExists(f"{path} exists: give another -o FILE, or --force to overwrite it; "
                           "nothing was recorded")  # fmt: skip


def _write(path: Path, content: bytes) -> None:
    """CONTENT to PATH through a temporary file beside it (never half a report)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
