"""`pelihara form`: the SOP's forms of a ticket (completeness, step 5; withdrawal, step 8),
as PDF, HTML or Markdown. Views: they record nothing on the ticket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pelihara.cli.app import App
from pelihara.core.errors import ExitCode, PeliharaError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pelihara.maintenance.models import Ticket
    from pelihara.maintenance.organisation import Organisation
    from pelihara.maintenance.people import People

    Content = Callable[[Session, Ticket, People, Organisation | None, str, datetime],
                       dict[str, Any]]  # fmt: skip


class OutputExists(PeliharaError):
    """The output file is there and --force was not given (status 2)."""

    exit_code = ExitCode.USAGE


def form_options(command: Callable[..., None]) -> Callable[..., None]:
    """TICKET, --format, --lang, -o FILE, --force: what both forms take."""
    for option in reversed((
        click.argument("reference", metavar="TICKET"),
        click.option("--format", "fmt", type=click.Choice(["pdf", "html", "md"]),
                     default="pdf", show_default=True,
                     help="PDF to print and sign, HTML, or Markdown for mail."),
        click.option("--lang", type=click.Choice(["id", "en"]), default="id",
                     show_default=True, help="Bahasa Indonesia, or English."),
        click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
                     metavar="FILE", help="Where to write it (default: "
                     "formulir-...-2026-0001.pdf in the current directory)."),
        click.option("--force", is_flag=True, help="Overwrite FILE if it exists."),
    )):  # fmt: skip
        command = option(command)
    return command


@click.group("form")
def form() -> None:
    """The SOP's forms of a ticket, printed from its records.

    \b
      pelihara form completeness 2026/0001        # step 5
      pelihara form withdrawal 2026/0001 --lang en  # step 8
      pelihara report --blank completeness        # empty, to fill by hand

    A form is a view: printing it records nothing on the ticket. Prints
    `SHA256  FILE`.
    """


@form.command("completeness")
@form_options
@click.pass_obj
def completeness(app: App, reference: str, fmt: str, lang: str, output: Path | None,
                 force: bool) -> None:  # fmt: skip
    """The Formulir Kelengkapan (step 5): the ticket's servers and their components
    with serials, and the OPD's confirmation block.

    \b
      pelihara form completeness 2026/0001
      pelihara form completeness 2026/0001 --format html -o fk.html

    Once the OPD confirmed it (`ticket advance T --step 5 --confirmed-by NAME`),
    the form is printed AS CONFIRMED: the form stored then, its SHA-256, who
    confirmed it and when, not today's inventory. Before, it shows the inventory
    now and says so. The OPD's block names who confirmed, else the OPD's only
    contact in pelihara.toml, else leaves a line to write the name on.

    A view: prints `SHA256  FILE` and records nothing on the ticket.

    Exit status: 0 written; 2 refused (a malformed pelihara.toml, FILE exists without
    --force); 6 a database error (also a confirmed form that no longer
    matches its SHA-256); 7 no such ticket.
    """
    from pelihara.maintenance.documents.forms_doc import completeness_content

    _print_form(app, "completeness", reference, _Request(fmt, lang, output, force),
                completeness_content)  # fmt: skip


@form.command("withdrawal")
@form_options
@click.pass_obj
def withdrawal(app: App, reference: str, fmt: str, lang: str, output: Path | None,
               force: bool) -> None:  # fmt: skip
    """The Formulir Penarikan Perangkat (step 8): each component withdrawn, its
    serial, part, server and slot, reason and custody (who took it, when, who
    recorded it), with the signature blocks of who took it, the Tim Data Center
    and the OPD.

    \b
      pelihara form withdrawal 2026/0001
      pelihara form withdrawal 2026/0001 --format md --lang en

    Nothing withdrawn: the form says so ("Tidak ada perangkat yang ditarik"), and
    who decided it when step 8 was advanced with --no-withdrawal.

    Exit status: 0 written; 2 refused (a malformed pelihara.toml, FILE exists without
    --force); 6 a database error; 7 no such ticket.
    """
    from pelihara.maintenance.documents.forms_doc import withdrawal_content

    def content(session: Session, ticket: Ticket, *rest: Any) -> dict[str, Any]:
        return withdrawal_content(ticket, *rest)

    _print_form(app, "withdrawal", reference, _Request(fmt, lang, output, force), content)


@dataclass(frozen=True)
class _Request:
    """The options of a form command."""

    fmt: str
    lang: str
    output: Path | None
    force: bool


def _print_form(app: App, name: str, reference: str, asked: _Request, content: Content) -> None:
    """Read the ticket (no lock, nothing written), render, write FILE, print its hash."""
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.calendar import work_calendar
    from pelihara.maintenance.documents.form_render import FormRequest, file_name, render_form
    from pelihara.maintenance.organisation import load_organisation
    from pelihara.maintenance.people import load_people
    from pelihara.maintenance.tickets import find_ticket

    people, organisation = load_people(app.config), load_organisation(app.config)
    zone = work_calendar(app.config).zone
    with transaction(app.sessions(read_only=True), commit=False) as session:
        ticket = find_ticket(session, reference)
        path = asked.output or Path(file_name(name, ticket.reference, asked.fmt))
        check_free(path, asked.force)
        data = content(session, ticket, people, organisation, asked.lang, datetime.now(UTC))
    body = render_form(data, FormRequest(asked.fmt, asked.lang), zone)
    write_document(path, body)


def check_free(path: Path, force: bool) -> None:
    """Refuse (status 2) to overwrite PATH without --force."""
    if path.exists() and not force:
        raise OutputExists(f"{path} exists: give another -o FILE, or --force to overwrite it")


def write_document(path: Path, content: bytes) -> None:
    """CONTENT to PATH through a temporary file beside it, then `SHA256  FILE` printed."""
    import hashlib

    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
    click.echo(f"{hashlib.sha256(content).hexdigest()}  {path}")
