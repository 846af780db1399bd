"""`pelihara audit ...`: read and verify the append-only, hash-chained audit log."""

from __future__ import annotations

import click

from pelihara.cli.app import App
from pelihara.cli.output import console, error, print_json, print_table
from pelihara.core.errors import ExitCode
from pelihara.inventory import audit as audit_log
from pelihara.inventory.db import transaction


@click.group()
def audit() -> None:
    """The audit log: every change to the inventory, who made it, before and after."""


@audit.command()
@click.pass_obj
@click.pass_context
def verify(ctx: click.Context, app: App) -> None:
    """Check the hash chain; name the first entry that was edited, removed or reordered.

    Exit status 0 when the chain is whole, 1 when it is broken. Write down the head hash
    it prints (e.g. in the Berita Acara): a log cut short after it shows a different head.
    """
    with transaction(app.sessions(read_only=True), commit=False) as session:
        report = audit_log.verify(session)
        head = audit_log.recent(session, 1)
    if not report.ok:
        error(f"audit log broken at entry {report.broken_seq}: {report.reason}")
        error(f"{report.checked} entries before it are intact")
        ctx.exit(ExitCode.FINDINGS)
    tail = f"; head {head[0].seq} {head[0].hash}" if head else ""
    console().print(f"audit log intact: {report.checked} entries{tail}")


@audit.command("log")
@click.option("--limit", default=20, show_default=True, help="How many entries, newest first.")
@click.option("--key", metavar="NAME", help="Only entries about this hostname (or OPD, site...).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.pass_obj
def log(app: App, limit: int, key: str | None, fmt: str) -> None:
    """Show the latest entries of the audit log."""
    with transaction(app.sessions(read_only=True), commit=False) as session:
        entries = audit_log.recent(session, limit, key)
    if fmt == "json":
        print_json([
            {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity,
             "key": e.entity_key, "before": e.before, "after": e.after, "hash": e.hash}
            for e in entries
        ])  # fmt: skip
        return
    rows = ((e.seq, e.at, e.actor, e.action, e.entity, e.entity_key) for e in entries)
    print_table(("seq", "at", "actor", "action", "entity", "key"), rows)
