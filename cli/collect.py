"""`pelihara collect`: health of the inventory's servers into the time-series store (cron)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

import click

from pelihara.cli.app import App, one_selection
from pelihara.cli.output import error, print_table, warning
from pelihara.core.errors import ExitCode


def _probes(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not names or set(names) - {"snmp", "ssh"}:
        raise click.BadParameter("choose snmp, ssh or both, comma-separated")
    return names


@click.command()
@click.argument("hosts", nargs=-1)
@click.option("--all", "all_hosts", is_flag=True, help="Every server in the inventory.")
@click.option("--opd", metavar="TEXT", help="Every server of OPDs whose name contains TEXT.")
@click.option("--probe", "probes", default="snmp", show_default=True, callback=_probes,
              help="snmp (hrProcessorLoad, hrStorage, interface counters, uptime) or ssh "
              "(load, CPU time, memory, filesystems, network, processes).")  # fmt: skip
@click.option("--tsdb", metavar="URL", envvar="PELIHARA_TSDB",
              help="Time-series store URL (default: the embedded one).")  # fmt: skip
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 512))
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(0.1, 300))
@click.option("--known-hosts", "known_hosts", multiple=True, type=click.Path(path_type=Path),
              default=[Path("~/.ssh/known_hosts")], show_default=True)  # fmt: skip
@click.option("--user", "ssh_user", default=getpass.getuser, show_default="you",
              help="SSH user for servers whose inventory names none.")  # fmt: skip
@click.option("--include-withdrawn", is_flag=True,
              help="Withdrawn servers too (left out by default).")  # fmt: skip
@click.option("-v", "--verbose", is_flag=True,
              help="A summary, and the hosts skipped, even when not on a terminal.")  # fmt: skip
@click.pass_obj
@click.pass_context
def collect(ctx: click.Context, app: App, /, verbose: bool, **options: Any) -> None:
    """Collect health from HOSTS (or --all, or --opd) into the time-series store.

    Meant for cron on the collector host, e.g. every 5 minutes:

    \b
      */5 * * * *  pelihara collect --all --tsdb victoriametrics://tsdb:8428

    Quiet when all went well and no terminal is attached. Hosts that cannot be asked
    (SNMP without the server's snmp_credential; withdrawn servers) are named with the
    reason on a terminal, with -v, or when named on the command line. Two runs never
    overlap: a second one exits at once with status 75. Points pass through a durable
    spool: a store that is down loses nothing, the next run sends them.

    Exit status: 0 all hosts read and the points stored; 4 some hosts could not be read,
    or the store is unreachable (points kept); 2 configuration: the store refused the
    credentials, or every request (HTTP 400 to everything: a wrong tenant or path, a proxy;
    the points are kept, `pelihara tsdb spool` shows them); 75 another collect is running.
    """
    from pelihara.collector.collect import CollectRequest, run_collect
    from pelihara.collector.probes import without_invoke

    one_selection(options["hosts"], options["all_hosts"], options["opd"])
    request = CollectRequest(known_hosts=tuple(options.pop("known_hosts")), **options)
    with without_invoke():
        report = run_collect(app.sessions(), request)
    for result in sorted(report.failed, key=lambda r: (r.host, r.source)):
        reason = result.error or ""
        error(f"{result.host} [{result.source}] {result.status}: {reason}")
    flush = report.flush
    if verbose or sys.stdout.isatty() or request.hosts:
        for item in report.skipped:
            over = f" [{item.source}]" if item.source else ""
            click.echo(f"skipped {item.host}{over}: {item.reason}", err=True)
    if verbose or sys.stdout.isatty():
        hosts = {r.host for r in report.results}
        print_table(("hosts", "skipped", "failed", "points", "sent", "pending in spool"),
                    [(len(hosts), len(report.skipped), len(report.failed), report.points,
                      flush.sent if flush else 0, flush.pending if flush else 0)])  # fmt: skip
    for text in report.warnings:
        warning(text)
    if flush is not None and flush.error is not None:
        error(f"store: {flush.error}; {flush.pending} points kept for the next run")
        ctx.exit(int(getattr(flush.error, "exit_code", ExitCode.UNREACHABLE)))
    if report.failed:
        ctx.exit(ExitCode.UNREACHABLE)
