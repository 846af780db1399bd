"""`pelihara ticket attach`: photos and scans kept with a step of a ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pelihara.cli.app import App

if TYPE_CHECKING:
    from pelihara.maintenance.attach import Attach


@click.command("attach")
@click.argument("reference", metavar="TICKET")
@click.argument("files", nargs=-1, required=True, metavar="FILE...",
                type=click.Path(path_type=Path))  # fmt: skip
@click.option("--step", "number", required=True, type=int, metavar="N",
              help="The step of the ticket the files belong to.")  # fmt: skip
@click.option("--note", metavar="TEXT", help="A note kept with each file.")
@click.pass_obj
def attach(app: App, reference: str, files: tuple[Path, ...], number: int,
           note: str | None) -> None:  # fmt: skip
    """Keep photos and scans with step N of a ticket.

    Each file is stored once by its SHA-256 in the data directory
    (attachments/<sha256>, never inside the database) and recorded on the
    ticket with its name, size and type, in the audit log. The same content
    attached twice to the same step is kept once: it is told, not recorded.

    \b
      pelihara ticket attach 2026/0001 --step 7 foto-rak.jpg foto-disk.jpg
      pelihara ticket attach 2026/0001 --step 8 penarikan.pdf \\
          --note "formulir penarikan, ditandatangani"

    Who attaches: the person pelihara.toml maps to your OS user (on
    PostgreSQL, your database login role) with the role tim_data_center,
    kepala_bidang or kepala_dinas; --actor is refused. N is any step of the
    ticket's SOP, done or not; a closed ticket takes no more files. Every file
    is read first: one missing or unreadable refuses them all.

    Exit status: 0 attached (or already attached); 2 refused (not configured,
    wrong role, --actor, no such step, ticket closed); 3 a file cannot be
    read; 6 a database error; 7 no such ticket or file.
    """
    from pelihara.maintenance.actor import refuse_free_actor
    from pelihara.maintenance.attach import Attach

    refuse_free_actor(app.actor, f"attaching to step {number}")
    for line in _attach(app, reference, Attach(number, files, note)):
        click.echo(line)


def _attach(app: App, reference: str, request: Attach) -> list[str]:
    """Attach in one transaction: who you are, the checks, the records, the files."""
    from pelihara.core.paths import attachments_dir
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.actor import establish, identity
    from pelihara.maintenance.attach import attach_files, attached_text
    from pelihara.maintenance.people import load_people
    from pelihara.maintenance.records import RecordedBy
    from pelihara.maintenance.sop_file import packaged_sop
    from pelihara.maintenance.tickets import find_ticket

    people, sop = load_people(app.config), packaged_sop()
    with transaction(app.sessions()) as session:
        who = identity(session)
        by = RecordedBy(establish(people, who), who.describe())
        found = find_ticket(session, reference)
        done = attach_files(session, found, sop, by, request, datetime.now(UTC),
                            attachments_dir())  # fmt: skip
        return attached_text(found.reference, request.step, done)
