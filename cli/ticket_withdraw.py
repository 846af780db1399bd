"""`pelihara ticket withdraw`: a component taken out of the data center (SOP step 8)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pelihara.cli.app import App


@click.command("withdraw")
@click.argument("reference", metavar="TICKET")
@click.option("--component", "serial", required=True, metavar="SERIAL",
              help="The serial of the component taken out, as the inventory holds it.")  # fmt: skip
@click.option("--reason", required=True, metavar="TEXT", help="Why it was taken out.")
@click.option("--taken-by", metavar="NAME",
              help="Who took it away (custody); default: who it is recorded for.")  # fmt: skip
@click.option("--on-behalf-of", "for_whom", metavar="NAME",
              help="Record it for a colleague of the Tim Data Center who did it and signed "
              "the withdrawal form (name or NIP); needs --attach.")  # fmt: skip
@click.option("--attach", "scan", metavar="SCAN",
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The signed withdrawal form's scan (stored once by its SHA-256).")  # fmt: skip
@click.pass_obj
def withdraw(app: App, reference: str, serial: str, reason: str, taken_by: str | None,
             for_whom: str | None, scan: Path | None) -> None:  # fmt: skip
    """Record a component taken out under a ticket (SOP step 8): the inventory
    marks it withdrawn, the ticket keeps who took it, why, and from where.

    \b
      pelihara ticket withdraw 2026/0001 --component S3Z1NB0K \\
          --reason "disk rusak (SMART gagal)" --taken-by "Joko, PT Vendor"
      pelihara ticket withdraw 2026/0001 --component S3Z1NB0K --reason rusak \\
          --on-behalf-of "Rina Putri" --attach penarikan.pdf

    The component is found by its serial among the ticket's servers. The ticket
    must be open and its step 8 not done. You are the person pelihara.toml maps to
    your OS user (on PostgreSQL, your database login role), with the role
    tim_data_center; --actor is refused. A disk that vanished between the pre and
    post snapshots blocks step 8 until it is withdrawn here.

    Exit status: 0 withdrawn; 2 refused (not configured, wrong role, --actor, the
    ticket closed or its step 8 done, the component on a server not of the ticket
    or already withdrawn, --on-behalf-of without --attach); 6 a database error;
    7 no such ticket or serial.
    """
    from pelihara.maintenance.actor import refuse_free_actor
    from pelihara.maintenance.withdraw import Withdrawal

    refuse_free_actor(app.actor, "a withdrawal (step 8)")
    request = Withdrawal(serial, reason, taken_by, for_whom, (scan,) if scan else ())
    click.echo(_withdraw(app, reference, request))


def _withdraw(app: App, reference: str, request: Any) -> str:
    """Withdraw in one transaction: who you are, the checks, the component, the record."""
    from pelihara.core.paths import attachments_dir
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.actor import establish, identity
    from pelihara.maintenance.advance import Actor
    from pelihara.maintenance.people import load_people
    from pelihara.maintenance.sop_file import packaged_sop
    from pelihara.maintenance.tickets import find_ticket
    from pelihara.maintenance.withdraw import withdraw_component, withdrawn_text

    people, sop = load_people(app.config), packaged_sop()
    with transaction(app.sessions()) as session:
        who = identity(session)
        actor = Actor(establish(people, who), people, who.describe())
        found = find_ticket(session, reference)
        now = datetime.now(UTC)
        record = withdraw_component(session, found, sop, actor, request, now, attachments_dir())
        return withdrawn_text(found, record)
