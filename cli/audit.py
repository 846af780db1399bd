"""`pelihara audit ...`: read and verify the append-only, hash-chained audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from pelihara.cli.app import App, SuggestingGroup
from pelihara.cli.output import console, error, print_json, print_table, wide_option
from pelihara.core.cells import cell_text
from pelihara.core.errors import ExitCode
from pelihara.inventory import audit as audit_log
from pelihara.inventory.db import transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pelihara.inventory.audit_report import AuditReport
    from pelihara.inventory.models import AuditEntry


@click.group(cls=SuggestingGroup)
def audit() -> None:
    """The audit log: every change to the inventory, who made it, before and after."""


def _heads(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> list[audit_log.Head]:
    try:
        return [audit_log.parse_head(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@audit.command()
@click.option("--expect", "expected", multiple=True, metavar="SEQ:HASH", callback=_heads,
              help="A head recorded earlier (`pelihara audit head`, the Berita Acara); fail "
              "unless it is still on the chain. Repeatable.")  # fmt: skip
@click.option("--state", is_flag=True,
              help="Also check the inventory's rows and the tickets (their steps and "
              "records) against the log's last word.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.pass_obj
@click.pass_context
def verify(
    ctx: click.Context, app: App, expected: list[audit_log.Head], state: bool, fmt: str
) -> None:
    """Check the audit log: its hash chain and MACs, its append-only triggers, and (--state)
    that no inventory row, ticket, step or ticket record was changed behind it.

    Names the first entry edited, removed or reordered. The MACs are checked with the
    audit key (PELIHARA_AUDIT_KEY or credentials.toml); without it the output says
    "MACs not checked: no key" and only the hash chain is checked. A log cut short at its
    end is only seen against a head recorded before: give it with --expect.

    \b
      pelihara audit verify --expect 1042:5f0c...e9 --state

    Exit status 0 when all is well; 1 when the chain, a MAC, an expected head, a trigger or
    a row is wrong; 2 bad key or configuration; 6 the database cannot be read.
    """
    from pelihara.inventory.audit_key import load_key
    from pelihara.inventory.audit_report import check

    key = load_key()
    with transaction(app.sessions(read_only=True), commit=False) as session:
        report = check(session, key, expected, state)
        if state:
            report = _with_tickets(session, report)
    if fmt == "json":
        print_json(report.as_dict())
    else:
        for line in report.problems():
            error(line)
        for line in report.notes():
            console().print(escape(line))
        _print_summary(report)
    if not report.ok:
        ctx.exit(ExitCode.FINDINGS)


def _with_tickets(session: Session, report: AuditReport) -> AuditReport:
    """REPORT with the tickets, steps and records not as their entries have them."""
    from dataclasses import replace

    from pelihara.maintenance.ticket_audit import ticket_differences

    return replace(report, state=(*(report.state or ()), *ticket_differences(session)))


def _print_summary(report: AuditReport) -> None:
    chain = report.chain
    if chain.broken_seq is not None:
        error(f"{chain.checked} entries before it are intact")
        return
    checks = "hash chain and MACs" if chain.macs_checked else "hash chain"
    extra = ", rows as logged" if report.state is not None and not report.state else ""
    verdict = "intact" if report.ok else "chain intact, but see above"
    console().print(f"audit log {verdict}: {chain.checked} entries ({checks}{extra}); "
                    f"head {chain.head}")  # fmt: skip


@audit.command()
@click.pass_obj
def head(app: App) -> None:
    """Print the log's latest entry as SEQ:HASH, the form `audit verify --expect` takes.

    Write it down (the Berita Acara prints it): later, `pelihara audit verify --expect
    SEQ:HASH` fails if the log was cut or rewritten at or before that entry.
    """
    with transaction(app.sessions(read_only=True), commit=False) as session:
        click.echo(str(audit_log.head(session)))


@audit.command("log")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1),
              help="How many entries, newest first.")  # fmt: skip
@click.option("--key", metavar="NAME",
              help="Only entries about this hostname (or OPD, site...); for a server, its "
              "verify runs too.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_obj
def log(app: App, limit: int, key: str | None, fmt: str) -> None:
    """Show the latest entries of the audit log: who, when, what, and what an update changed.

    \b
      pelihara audit log --key dinkes-web01   the server's changes, verify runs
    """
    from pelihara.collector.runs import verify_entries_of

    with transaction(app.sessions(read_only=True), commit=False) as session:
        runs = verify_entries_of(session, key) if key else None
        entries = audit_log.recent(session, limit, key, also=runs)
    if fmt == "json":
        print_json([
            {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity,
             "key": e.entity_key, "before": e.before, "after": e.after, "hash": e.hash}
            for e in entries
        ])  # fmt: skip
        return
    if not entries:
        click.echo(f"no audit entries{f' about {key}' if key else ''}", err=True)
        return
    rows = ((e.seq, e.at, e.actor, e.action, e.entity, e.entity_key, what_changed(e))
            for e in entries)  # fmt: skip
    print_table(("seq", "at", "actor", "action", "entity", "key", "what changed"), rows,
                drop=("entity", "actor"))  # fmt: skip


def what_changed(entry: AuditEntry) -> str:
    """An update's changed fields (`status: active -> maintenance`); a verify run's outcome;
    a snapshot's id, phase and hash; a stored diff's snapshots and hash."""
    if entry.entity == "verify_run" and entry.after:
        after = entry.after
        ticket = f", ticket {after['ticket']}" if after.get("ticket") else ""
        return (f"{after.get('hosts_done')}/{after.get('hosts_total')} hosts, exit status "
                f"{after.get('exit_status')}{ticket}")  # fmt: skip
    if entry.entity == "snapshot" and entry.after:
        after = entry.after
        ticket = f", ticket {after['ticket']}" if after.get("ticket") else ""
        return (f"snapshot {after.get('snapshot')}, {after.get('phase')}{ticket}, "
                f"sha256 {after.get('sha256')}")  # fmt: skip
    if entry.entity == "snapshot_diff" and entry.after:
        return diff_changed(entry.after)
    if entry.before is None or entry.after is None:
        return ""  # created or removed: the whole record is in --format json
    changes = audit_log.changed_fields(entry.before, entry.after)
    return "; ".join(
        f"{name}: {_value(old)} -> {_value(new)}" for name, (old, new) in changes.items()
    )


def diff_changed(after: dict[str, Any]) -> str:
    """A stored diff's entry: `diff 4 of snapshots 3 -> 7, ticket 2026/041, sha256 ...`."""
    before, later = after.get("before") or {}, after.get("after") or {}
    return (f"diff {after.get('snapshot_diff')} of snapshots {before.get('snapshot')} -> "
            f"{later.get('snapshot')}, ticket {after.get('ticket')}, "
            f"sha256 {after.get('sha256')}")  # fmt: skip


def _value(value: object) -> str:
    return cell_text(value) or "(empty)"
