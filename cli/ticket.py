"""`pelihara ticket ...`: maintenance tickets walking the SOP's steps."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pelihara.cli.app import App, SuggestingGroup
from pelihara.cli.output import print_json, print_table, wide_option
from pelihara.cli.ticket_attach import attach
from pelihara.cli.ticket_withdraw import withdraw
from pelihara.core.times import local_text

if TYPE_CHECKING:
    from pelihara.maintenance.models import Ticket
    from pelihara.maintenance.sop import Sop
    from pelihara.maintenance.ticket_view import StepView

LIST_COLUMNS = ("reference", "status", "opd", "servers", "letter_number", "letter_date",
                "created_at", "created_by", "steps_done", "next_step", "summary")  # fmt: skip
STEP_COLUMNS = ("No", "Langkah", "Pelaksana", "Selesai", "Oleh", "Tenggat", "SLA", "Bukti")
LETTER_STEP = "step 1 (the OPD's letter)"


@click.group(cls=SuggestingGroup)
def ticket() -> None:
    """Maintenance tickets: the OPD's letter, its servers, and the SOP's 12 steps,
    each with who did it, when, and its deadline in working days.

    \b
      pelihara ticket new --letter 005/DINKES/III/2026 --letter-date 2026-03-02 \\
          --opd "Dinas Kesehatan" --server dinkes-web01 --summary "Ganti disk"
      pelihara ticket list --status open
      pelihara ticket show 2026/0001

    A ticket's reference is YEAR/NUMBER (2026/0001). `verify --ticket` and
    `snapshot take --ticket` refuse a reference of that form unless it is an open
    ticket; other text is still taken, as free text, with a warning.
    """


def _now() -> datetime:
    return datetime.now(UTC)


def _window(app: App, value: str | None) -> tuple[datetime, datetime] | None:
    from pelihara.maintenance.tickets import parse_window

    return parse_window(value, app.zone) if value else None


@ticket.command("new")
@click.option("--letter", "letter", required=True, metavar="NUMBER",
              help="The number of the OPD's request letter.")  # fmt: skip
@click.option("--letter-date", required=True, type=click.DateTime(["%Y-%m-%d"]),
              metavar="DATE", help="The letter's date: 2026-03-02.")  # fmt: skip
@click.option("--opd", required=True, metavar="NAME", help="The OPD that wrote the letter.")
@click.option("--server", "servers", required=True, multiple=True, metavar="HOST",
              help="A server of the letter (hostname, IP, domain); repeat it.")  # fmt: skip
@click.option("--summary", required=True, metavar="TEXT", help="What is to be done.")
@click.option("--intent", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="The intended changes, as `snapshot diff --intent` reads them.")  # fmt: skip
@click.option("--window", metavar="START..END",
              help="The planned work, in the data center's zone: "
              "'2026-03-10 20:00..23:00'.")  # fmt: skip
@click.option("--sop", "sop_name", default="pemeliharaan-server", show_default=True,
              metavar="NAME", help="The SOP the ticket walks (`pelihara sop list`).")  # fmt: skip
@click.pass_obj
def new(app: App, letter: str, letter_date: datetime, opd: str, servers: tuple[str, ...],
        summary: str, intent: Path | None, window: str | None, sop_name: str) -> None:  # fmt: skip
    """Open a ticket for an OPD's request letter; step 1 (the letter) is done.

    The ticket walks --sop: the packaged SOP Pemeliharaan Server, or one of the
    SOP files in the sops/ directory next to pelihara.toml; it keeps the SOP's
    name and revision. The servers must be in the inventory and all belong to
    --opd. You are the person pelihara.toml maps to your OS user (on PostgreSQL,
    your database login role), with the role tim_data_center; --actor is refused.

    \b
      pelihara ticket new --letter 005/DINKES/III/2026 --letter-date 2026-03-02 \\
          --opd "Dinas Kesehatan" --server dinkes-web01 --server 10.0.0.12 \\
          --summary "Ganti disk yang rusak" --intent intents.yaml \\
          --window "2026-03-10 20:00..23:00"
      pelihara ticket new --sop penarikan-server --letter 009/DISDIK/IV/2026 \\
          --letter-date 2026-04-06 --opd "Dinas Pendidikan" \\
          --server disdik-app01 --summary "Penarikan server lama"

    Prints the reference (2026/0001). Exit status: 0 opened; 2 refused (not
    configured, wrong role, --actor, servers of another OPD); 3 a bad intents
    file or a broken SOP file; 6 a database error; 7 an unknown server, OPD or
    SOP.
    """
    from pelihara.maintenance.actor import refuse_free_actor
    from pelihara.maintenance.calendar import work_calendar
    from pelihara.maintenance.ticket_sop import sop_named
    from pelihara.maintenance.tickets import NewTicket

    refuse_free_actor(app.actor, LETTER_STEP)
    work_calendar(app.config)  # a bad [calendar] is told now, not at the first `show`
    request = NewTicket(letter, letter_date.date(), opd, servers, summary,
                        _intents(intent), _window(app, window))  # fmt: skip
    reference = _open(app, request, sop_named(sop_name, app.config.path.parent))
    click.echo(reference)


def _intents(path: Path | None) -> Any:
    from pelihara.collector.diff_inputs import intents_from_file

    return intents_from_file(path) if path is not None else None


def _open(app: App, request: Any, sop: Sop) -> str:
    """Open the ticket of SOP in one transaction: who you are, the servers, the row, the
    audit."""
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.actor import establish, identity, require_role
    from pelihara.maintenance.people import load_people
    from pelihara.maintenance.tickets import CREATOR_ROLE, Recorder, open_ticket

    people = load_people(app.config)
    with transaction(app.sessions()) as session:
        who = identity(session)
        person = establish(people, who)
        require_role(person, CREATOR_ROLE, LETTER_STEP)
        opened = open_ticket(session, request, Recorder(person, who.describe()),
                             sop, _now(), app.zone)  # fmt: skip
        return opened.reference


@ticket.command("list")
@click.option("--status", type=click.Choice(["open", "done"]), help="Only tickets of it.")
@click.option("--overdue", is_flag=True,
              help="Only open tickets whose next step is past its service level.")  # fmt: skip
@click.option("--opd", metavar="TEXT", help="Only OPDs whose name contains TEXT.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_obj
def list_(app: App, status: str | None, overdue: bool, opd: str | None, fmt: str) -> None:
    """List tickets, newest first: reference, status, OPD, servers, the letter, the
    next step to do.

    \b
      pelihara ticket list --status open --opd kesehatan
      pelihara ticket list --overdue
      pelihara ticket list --format csv > tiket.csv

    --overdue keeps the open tickets whose next step is past its service level
    (`ticket overdue` lists those steps, for cron). Exit status: 0 listed (also
    when none); 2 a ticket's SOP file is gone or broken; 6 the database cannot
    be read.
    """
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.ticket_view import step_after, summary_of
    from pelihara.maintenance.tickets import list_tickets

    if overdue:
        _print_list(app, _overdue_list(app, status, opd), fmt)
        return
    sop_of = _sops(app)
    with transaction(app.sessions(read_only=True), commit=False) as session:
        found = [summary_of(t, [s.host for s in t.servers], done, step_after(sop_of(t), done))
                 for t, done in list_tickets(session, status, opd)]  # fmt: skip
    _print_list(app, found, fmt)


def _overdue_list(app: App, status: str | None, opd: str | None) -> list[dict[str, Any]]:
    """`list --overdue`: from the aggregate of `ticket overdue`, no ticket's steps loaded."""
    from pelihara.cli.ticket_overdue import overdue_now
    from pelihara.maintenance.overdue import newest_first

    if status == "done":
        return []  # a done ticket has no step left to be late
    return [item.summary() for item in newest_first(overdue_now(app, opd))]


def _print_list(app: App, found: list[dict[str, Any]], fmt: str) -> None:
    from pelihara.inventory.exporter import write_csv

    if fmt == "json":
        print_json(found)
    elif fmt == "csv":
        write_csv(({**d, "servers": " ".join(d["servers"])} for d in found), sys.stdout,
                  columns=LIST_COLUMNS)  # fmt: skip
    elif not found:
        click.echo("no tickets", err=True)
    else:
        rows = [(d["reference"], d["status"], d["opd"], " ".join(d["servers"]),
                 d["letter_number"], _local(app, d["created_at"]),
                 d["next_step"] or "-") for d in found]  # fmt: skip
        print_table(("ticket", "status", "OPD", "servers", "letter", "opened", "next step"),
                    rows, drop=("letter",))  # fmt: skip


def _local(app: App, iso: str) -> str:
    return local_text(datetime.fromisoformat(iso), app.zone)


def _sops(app: App) -> Callable[[Ticket], Sop]:
    """Each ticket's own SOP, read once per name; a changed revision warned on stderr."""
    from pelihara.cli.ticket_overdue import sops

    return sops(app)


@ticket.command("show")
@click.argument("reference", metavar="TICKET")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_obj
def show(app: App, reference: str, fmt: str) -> None:
    """Show a ticket and its SOP's steps: done or not, by whom (and on behalf of
    whom), when, the deadline in working days and whether it was met, and each
    step's evidence: what is linked to it, what the next step still misses.

    \b
      pelihara ticket show 2026/0001
      pelihara ticket show 2026/0001 --format json

    SLA: met, missed, due (not done, deadline not passed), waiting (the step
    before is not done). Bukti (evidence): recorded (done, its evidence listed
    under the table: verification runs with their verdicts per host, snapshot
    and diff ids, records and scans with their SHA-256), missing (the next
    step: each missing item listed under the table), ready (the next step can
    be done), waiting (a later step), none needed (the SOP asks none); (N)
    counts the items listed under the table.

    The ticket is shown by the SOP it was opened under (`ticket new --sop`);
    a warning says when that SOP's file now has another revision.

    Exit status: 0 shown; 2 the ticket's SOP file is gone or broken; 7 no such
    ticket.
    """
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.calendar import work_calendar
    from pelihara.maintenance.evidence_view import ticket_evidence
    from pelihara.maintenance.ticket_view import step_views, ticket_document
    from pelihara.maintenance.tickets import find_ticket

    cal, sop_of, now = work_calendar(app.config), _sops(app), _now()
    with transaction(app.sessions(read_only=True), commit=False) as session:
        found = find_ticket(session, reference)
        sop = sop_of(found)
        evidence = ticket_evidence(session, found, sop)
        if fmt == "json":
            print_json(ticket_document(found, sop, cal, now, evidence))
            return
        _print_ticket(app, found, sop)
        views = step_views(found, sop, cal, now, evidence)
        _print_steps(app, views)
        _print_evidence(views)


def _print_ticket(app: App, found: Ticket, sop: Sop) -> None:
    window = ""
    if found.window_start and found.window_end:
        window = f"{local_text(found.window_start, app.zone)} .. " \
                 f"{local_text(found.window_end, app.zone)}"  # fmt: skip
    rows = [("ticket", f"{found.reference} ({found.status})"),
            ("SOP", f"{sop.title.id} ({found.sop_name}, revisi {found.sop_revision})"),
            ("OPD", found.opd_name), ("servers", " ".join(s.host for s in found.servers)),
            ("letter", f"{found.letter_number}, {found.letter_date.isoformat()}"),
            ("summary", found.summary), ("window", window or "-"),
            ("intents", "yes" if found.intents else "-"),
            ("opened", f"{local_text(found.created_at, app.zone)}"),
            ("by", found.created_by)]  # fmt: skip
    print_table(("", ""), rows)


def _print_steps(app: App, views: list[StepView]) -> None:
    from pelihara.maintenance.actor import Recorded
    from pelihara.maintenance.ticket_view import evidence_text, role_text

    rows = []
    for view in views:
        done = view.done
        by = ""
        if done is not None:
            by = done.person_name if done.on_behalf_of_name is None else \
                Recorded(done.person_name, done.on_behalf_of_name).text()  # fmt: skip
        rows.append((view.step.number, view.step.label(), role_text(view.step),
                     local_text(done.done_at, app.zone) if done else "-", by or "-",
                     local_text(view.deadline.last_moment(), app.zone) if view.deadline else "-",
                     view.state or "-", evidence_text(view)))  # fmt: skip
    print_table(STEP_COLUMNS, rows, drop=("Langkah", "Pelaksana"))


def _print_evidence(views: list[StepView]) -> None:
    """Under the table: each step's evidence linked (one line each), then what the next
    step misses (one item a line), as `ticket advance` would refuse it."""
    from pelihara.maintenance.ticket_view import evidence_kinds_text

    linked = [(v.step.number, link.text) for v in views if v.evidence
              for link in v.evidence.links]  # fmt: skip
    if linked:
        click.echo("\nBukti (evidence):")
        for number, text in linked:
            click.echo(f"  step {number}: {text}")
    for view in views:
        if view.evidence and view.evidence.missing:
            click.echo(f"\nMissing for step {view.step.number} "
                       f"({evidence_kinds_text(view.step)}):")  # fmt: skip
            for item in view.evidence.missing:
                click.echo(f"  - {item}")


def check_ticket_option(app: App, reference: str | None) -> None:
    """`--ticket REF` of verify and snapshot take, checked above the collector: a reference
    of a ticket's form (2026/0001) must be an open ticket (else status 7 or 2, nothing
    done); other text is taken as free text, with a warning on stderr."""
    if reference is None:
        return
    from pelihara.cli.output import warning
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.tickets import check_reference

    with transaction(app.sessions(), commit=False) as session:
        told = check_reference(session, reference)
    if told:
        warning(told)


@ticket.command("advance")
@click.argument("reference", metavar="TICKET")
@click.option("--step", "number", required=True, type=int, metavar="N",
              help="The step done: the next one of the ticket.")  # fmt: skip
@click.option("--note", metavar="TEXT", help="A note kept with the step.")
@click.option("--on-behalf-of", "for_whom", metavar="NAME",
              help="Record the step for an official who signed on paper (name or NIP); "
              "needs --attach.")  # fmt: skip
@click.option("--attach", "scans", multiple=True, metavar="SCAN",
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A scan or photo kept with the step (stored once by its SHA-256); repeat "
              "it.")  # fmt: skip
@click.option("--confirmed-by", metavar="NAME",
              help="Step 5: the OPD contact (name or NIP) who confirmed the completeness "
              "form.")  # fmt: skip
@click.option("--announced-to", multiple=True, metavar="WHOM",
              help="Step 6: who was told of the stop; repeat it. Needs --channel.")  # fmt: skip
@click.option("--channel", metavar="TEXT",
              help="Step 6: how: surat, email, whatsapp, situs web, ...")  # fmt: skip
@click.option("--no-withdrawal", is_flag=True,
              help="Step 8: no device was withdrawn from the data center.")  # fmt: skip
@click.option("--report", type=click.Path(path_type=Path), metavar="FILE",
              help="Step 9: the signed report (Berita Acara Pekerjaan), stored by its "
              "SHA-256.")  # fmt: skip
@click.pass_obj
def advance(app: App, reference: str, number: int, note: str | None, for_whom: str | None,
            scans: tuple[Path, ...], confirmed_by: str | None, announced_to: tuple[str, ...],
            channel: str | None, no_withdrawal: bool, report: Path | None) -> None:  # fmt: skip
    """Do step N of a ticket: steps go strictly in order, each by its role, each with
    its evidence.

    \b
      pelihara ticket advance 2026/0001 --step 2 \\
          --on-behalf-of "Dr. Andi Wijaya, S.Kom., M.T." --attach disposisi.pdf
      pelihara ticket advance 2026/0001 --step 4 --note "terverifikasi"
      pelihara ticket advance 2026/0001 --step 5 --confirmed-by "dr. Maya Kusuma"
      pelihara ticket advance 2026/0001 --step 6 --channel "surat, whatsapp" \\
          --announced-to "pengguna SIMPUS" --announced-to "puskesmas"
      pelihara ticket advance 2026/0001 --step 8 --no-withdrawal
      pelihara ticket advance 2026/0001 --step 9 --report berita-acara.pdf

    You are the person pelihara.toml maps to your OS user (on PostgreSQL, your
    database login role); --actor is refused. The evidence a step needs is checked
    first: step 4 a verification run of the ticket (`verify run --ticket`) that
    reached every server; step 5 the completeness form, made from the inventory
    now and confirmed by a contact (role opd) of the ticket's OPD; step 6 the
    announcement, to whom and how; step 7 a pre and a post snapshot of every
    server and their stored diff (`snapshot take --ticket`, `snapshot diff
    --ticket`); step 8 the withdrawal decision (`ticket withdraw`, or
    --no-withdrawal); step 9 the signed report. An option of another step is
    refused. A refused step records nothing and stores no file. The last step
    (12) closes the ticket.

    Exit status: 0 done; 2 refused (not configured, wrong role, --actor, out of
    order, already done, ticket closed, an option of another step, a contact of
    another OPD); 3 the evidence is not all there (each missing item on its own
    line), or an unreadable --report; 6 a database error; 7 no such ticket or
    --report file.
    """
    from pelihara.maintenance.actor import refuse_free_actor
    from pelihara.maintenance.advance import Advance

    refuse_free_actor(app.actor, f"step {number}")
    request = Advance(number, note, for_whom, scans, confirmed_by, announced_to, channel,
                      no_withdrawal, report)  # fmt: skip
    click.echo(_advance(app, reference, request))


def _advance(app: App, reference: str, request: Any) -> str:
    """Advance in one transaction: who you are, the checks, the step row, the audit."""
    from pelihara.core.paths import attachments_dir
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.actor import establish, identity
    from pelihara.maintenance.advance import Actor, advance_ticket
    from pelihara.maintenance.people import load_people
    from pelihara.maintenance.tickets import find_ticket

    people, sop_of = load_people(app.config), _sops(app)
    with transaction(app.sessions()) as session:
        who = identity(session)
        actor = Actor(establish(people, who), people, who.describe())
        found = find_ticket(session, reference)
        row = advance_ticket(
            session, found, sop_of(found), actor, request, _now(), attachments_dir()
        )
        closed = " (ticket closed)" if found.status == "done" else ""
        return f"{found.reference}: step {row.step} done{closed}"


from pelihara.cli.ticket_overdue import overdue  # noqa: E402  (`ticket overdue`)

ticket.add_command(overdue)
ticket.add_command(attach)
ticket.add_command(withdraw)
