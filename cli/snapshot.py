"""`pelihara snapshot`: SOP step 7, each server's whole state before and after the work."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from pelihara.cli.app import App, SuggestingGroup, one_selection
from pelihara.cli.output import console, error, print_json, print_table, warning, wide_option
from pelihara.cli.snapshot_diff import diff
from pelihara.cli.verify import connection_options, probe_names

if TYPE_CHECKING:
    from pelihara.collector.snapshot import TakeReport


@click.group(cls=SuggestingGroup)
def snapshot() -> None:
    """SOP step 7: capture servers before and after maintenance, to show what changed.

    A snapshot holds a server's full facts (identity, CPU, memory, disks with serials,
    mounts, interfaces, OS, services, listening ports, packages, SSH host keys), one
    health sample, and the SNMP and DNS views where asked. It is stored once, never
    changed, as canonical JSON with its SHA-256, and written to the audit log.

    \b
      pelihara snapshot take dinkes-web01 --ticket 2026/041 --phase pre
      pelihara snapshot take --opd kesehatan --ticket 2026/041 --phase post
      pelihara snapshot list dinkes-web01
      pelihara snapshot show 12 --format json | sha256sum
      pelihara snapshot diff --ticket 2026/041
    """


snapshot.add_command(diff)


@snapshot.command("take")
@click.argument("hosts", nargs=-1)
@click.option("--all", "all_hosts", is_flag=True, help="Every server in the inventory.")
@click.option("--opd", metavar="TEXT", help="Every server of OPDs whose name contains TEXT.")
@click.option("--ticket", metavar="REF", help="The maintenance ticket it is taken for.")
@click.option("--phase", type=click.Choice(["pre", "post", "adhoc"]), default="adhoc",
              show_default=True, help="Before (pre) or after (post) the work.")  # fmt: skip
@click.option("--probe", "probes", default="ssh,snmp,dns", show_default=True,
              callback=probe_names,
              help="ssh or local (this machine) for the facts; snmp, dns.")  # fmt: skip
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 512),
              help="Hosts captured at once.")  # fmt: skip
@click.option("--tsdb", metavar="URL", envvar="PELIHARA_TSDB",
              help="Time-series store URL (default: the embedded one).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.option("--include-withdrawn", is_flag=True,
              help="Withdrawn servers too (--all and --opd leave them out).")  # fmt: skip
@connection_options
@click.pass_obj
@click.pass_context
def take(ctx: click.Context, app: App, /, fmt: str, phase: str, tsdb: str | None,
         **options: Any) -> None:  # fmt: skip
    """Capture HOSTS (hostname, IP or domain), or --all, or --opd: one of the three.

    Over SSH the full facts bundle runs in one round trip (the server's agent where
    installed); --probe local reads the machine pelihara runs on instead, and refuses
    any other server. Server selection, credentials and host keys work as in `verify`.

    Each host is stored as soon as it is done; Ctrl-C keeps the hosts done. Its numbers
    (memory, disk and mount use, CPU, load, counts of packages, services, ports and
    interfaces up, boot time) go to the time-series store, tagged host, phase, ticket;
    a store that is down keeps them in the spool (`pelihara tsdb spool`).

    \b
      pelihara snapshot take web01 web02 --ticket 2026/041 --phase pre
      pelihara snapshot take --probe local "$(hostname)" --phase adhoc

    Exit status: 0 every host captured; 4 a host (or its SNMP or DNS view) could not be;
    2 usage or configuration error, or --ticket of a closed ticket; 6 a database error;
    7 --ticket of the form 2026/0001 names no ticket; 130 interrupted.
    """
    from pelihara.cli.progress import host_progress
    from pelihara.cli.ticket import check_ticket_option
    from pelihara.collector.probes import without_invoke
    from pelihara.collector.snapshot import SnapshotRequest, take_snapshots
    from pelihara.collector.verify import VerifyRequest

    one_selection(options["hosts"], options["all_hosts"], options["opd"])
    check_ticket_option(app, options["ticket"])
    scan = VerifyRequest(known_hosts=tuple(options.pop("known_hosts")), **options)
    request = SnapshotRequest(scan, phase, tsdb)
    factory = app.sessions()
    with host_progress(fmt == "table", "capturing") as progress, without_invoke():
        report = take_snapshots(factory, request, app.who, on_host=progress.done,
                                on_start=progress.start)  # fmt: skip
    _report(report, fmt)
    if report.interrupted:
        error(f"interrupted: {len(report.taken)} of {report.hosts_total} hosts done, kept")
        ctx.exit(130)
    ctx.exit(report.exit_status)


def _report(report: TakeReport, fmt: str) -> None:
    """The hosts taken (stdout), the failures and the store's trouble (stderr)."""
    taken = sorted(report.taken, key=lambda t: t.host)
    if fmt == "json":
        print_json([{"host": t.host, "snapshot": t.snapshot_id, "sha256": t.sha256,
                     "problems": list(t.problems)} for t in taken])  # fmt: skip
    elif any(t.snapshot_id for t in taken):
        rows = [(t.host, t.snapshot_id, t.sha256) for t in taken if t.snapshot_id]
        print_table(("host", "snapshot", "sha256"), rows)
    if report.withdrawn:
        click.echo(f"left out, withdrawn: {', '.join(report.withdrawn)} (--include-withdrawn "
                   "captures them too)", err=True)  # fmt: skip
    for item in taken:
        kept = "kept, but " if item.snapshot_id else "not captured: "
        for problem in item.problems:
            error(f"{item.host}: {kept}{problem}")
    for text in report.warnings:
        warning(text)
    flush = report.flush
    if flush is not None and flush.error is not None:
        warning(f"time-series store: {flush.error}; {flush.pending} points kept in the "
                "spool for the next take (`pelihara tsdb spool`)")  # fmt: skip


@snapshot.command("list")
@click.argument("host", required=False)
@click.option("--ticket", metavar="REF", help="Only the snapshots of this ticket.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1),
              help="How many, newest first.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_obj
def list_(app: App, host: str | None, ticket: str | None, limit: int, fmt: str) -> None:
    """List snapshots, newest first: of HOST (also under an earlier name), of a ticket.

    \b
      pelihara snapshot list dinkes-web01
      pelihara snapshot list --ticket 2026/041 --format json
    """
    from pelihara.collector.snapshot_store import SnapshotFilter, list_snapshots, snapshot_summary
    from pelihara.inventory.db import transaction

    with transaction(app.sessions(read_only=True), commit=False) as session:
        found = list_snapshots(session, SnapshotFilter(host, ticket, limit))
        documents = [snapshot_summary(record) for record in found]
    if fmt == "json":
        print_json(documents)
        return
    if not documents:
        click.echo("no snapshots" + (" match" if host or ticket else ""), err=True)
        return
    rows = [(d["id"], d["host"], d["phase"], d["ticket"] or "", d["taken_at"], d["actor"],
             ",".join(d["probes"]), d["sha256"][:16]) for d in documents]  # fmt: skip
    print_table(("id", "host", "phase", "ticket", "taken", "actor", "probes", "sha256"), rows,
                drop=("probes", "actor"))  # fmt: skip


@snapshot.command("show")
@click.argument("snapshot_id", metavar="ID", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True,
              help="json: the stored document, byte for byte (hashed as stored).")  # fmt: skip
@wide_option
@click.pass_obj
def show(app: App, snapshot_id: int, fmt: str) -> None:
    """Show the snapshot ID: a summary, or the stored canonical document.

    \b
      pelihara snapshot show 12
      pelihara snapshot show 12 --format json | sha256sum   # the stored hash
    """
    from pelihara.collector.snapshot_store import load_snapshot, snapshot_summary
    from pelihara.inventory.db import transaction

    with transaction(app.sessions(read_only=True), commit=False) as session:
        record = load_snapshot(session, snapshot_id)
        summary, document = snapshot_summary(record), record.document
    if fmt == "json":  # the bytes that were hashed: no newline, no re-encoding
        sys.stdout.flush()
        sys.stdout.buffer.write(document.encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    _print_summary(summary, document)


def _print_summary(summary: dict[str, Any], document: str) -> None:
    from pelihara.facts.snapshot import snapshot_from_json

    snap = snapshot_from_json(document)
    facts, health = snap.facts, snap.health
    counts = {name: len(items) if items is not None else "not read"
              for name, items in (("disks", facts.disks), ("interfaces", facts.interfaces),
                                  ("services", facts.services), ("packages", facts.packages),
                                  ("listening ports", facts.listening_ports))}  # fmt: skip
    rows: list[tuple[str, Any]] = [
        ("snapshot", summary["id"]), ("host", summary["host"]), ("phase", summary["phase"]),
        ("ticket", summary["ticket"] or ""), ("taken", summary["taken_at"]),
        ("actor", summary["actor"]), ("sha256", summary["sha256"]),
        ("machine-id", facts.identity.machine_id), ("DMI serial", facts.identity.dmi_serial),
        ("boot time", facts.identity.boot_time), ("OS", facts.os.name),
        ("CPU threads", facts.cpu.threads), ("memory bytes", facts.memory_total_bytes),
        *counts.items(),
        ("load 1/5/15", " ".join(str(v) for v in (health.load1, health.load5, health.load15))
         if health else "not read"),
        ("SNMP", snap.snmp.status if snap.snmp else "not asked"),
        ("DNS", snap.dns.status if snap.dns else "not asked"),
    ]  # fmt: skip
    print_table(("field", "value"), rows, title=f"snapshot {summary['id']}")
    console().print("the whole document: --format json", style="dim", markup=False)
