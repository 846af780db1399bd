"""`pelihara ticket overdue`: the steps past their service level, for people and for cron."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from pelihara.cli.app import App
from pelihara.cli.output import print_json, print_table, wide_option
from pelihara.core.errors import ExitCode
from pelihara.core.times import local_text

if TYPE_CHECKING:
    from pelihara.maintenance.overdue import OverdueStep
    from pelihara.maintenance.ticket_sop import TicketSop

COLUMNS = ("reference", "opd", "servers", "step", "name", "role", "service_level_days",
           "started", "due", "late_working_days", "late_hours")  # fmt: skip
TABLE = ("ticket", "OPD", "servers", "No", "Langkah", "Pelaksana", "started", "due", "late")
NONE = "no step is past its service level"


def _now() -> datetime:
    """The clock, read once per command (tests replace this function)."""
    return datetime.now(UTC)


def sops(app: App) -> TicketSop:
    """Each ticket's own SOP (the packaged one or a file of `sops/` next to pelihara.toml),
    each read once; a changed revision warned on stderr, a gone file refused (status 2)."""
    from pelihara.cli.output import warning
    from pelihara.maintenance.ticket_sop import ticket_sops

    return ticket_sops(app.config.path.parent, warning)


def overdue_now(app: App, opd: str | None) -> list[OverdueStep]:
    """The overdue steps at this moment, read in one read-only transaction."""
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.calendar import work_calendar
    from pelihara.maintenance.overdue import overdue_steps

    cal, sop_of = work_calendar(app.config), sops(app)
    with transaction(app.sessions(read_only=True), commit=False) as session:
        return overdue_steps(session, sop_of, cal, _now(), opd)


@click.command("overdue")
@click.option("--opd", metavar="TEXT", help="Only OPDs whose name contains TEXT.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_context
def overdue(ctx: click.Context, opd: str | None, fmt: str) -> None:
    """List the steps past their service level: for each open ticket whose next
    step's deadline has passed, the step, who must do it, when it started, when it
    was due and how late it is (working days begun since, and hours).

    A step starts when the step before it is done; it is due by the end of its
    N-th working day after that day, in the data center's zone: weekends,
    Indonesian public holidays and [calendar] extra_holidays (cuti bersama) do
    not count. Times are shown in the data center's zone (UTC in JSON).

    \b
      pelihara ticket overdue
      pelihara ticket overdue --opd kesehatan --format csv > terlambat.csv

    For cron, weekdays at 07:00: cron mails what it prints, the list, or on a
    quiet day the one line that says nothing is late (proof the job ran):

    \b
      0 7 * * 1-5  pelihara ticket overdue

    Exit status: 0 nothing overdue (`no step is past its service level` on
    stderr); 1 some step is overdue (listed); 2 bad configuration, or a
    ticket's SOP file gone or broken; 6 the database cannot be read (never
    taken as "nothing overdue").
    """
    app: App = ctx.obj
    found = overdue_now(app, opd)
    if found or fmt != "table":
        _print(app, found, fmt)  # JSON `[]` and a CSV header when none: scripts read them
    if found:
        ctx.exit(ExitCode.FINDINGS)
    click.echo(NONE, err=True)


def _print(app: App, found: list[OverdueStep], fmt: str) -> None:
    from pelihara.inventory.exporter import write_csv

    documents = [item.as_dict() for item in found]
    if fmt == "json":
        print_json(documents)
    elif fmt == "csv":
        write_csv(_flat(documents), sys.stdout, columns=COLUMNS)
    else:
        print_table(TABLE, _rows(app, found), drop=("Langkah", "servers", "started"))


def _flat(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**d, "servers": " ".join(d["servers"])} for d in documents]


def _rows(app: App, found: list[OverdueStep]) -> list[tuple[Any, ...]]:
    from pelihara.maintenance.ticket_view import role_text

    return [(item.ticket.reference, item.ticket.opd_name, " ".join(item.servers),
             item.step.number, item.step.label(), role_text(item.step),
             local_text(item.started, app.zone),
             local_text(item.deadline.last_moment(), app.zone), item.late.text())
            for item in found]  # fmt: skip
