"""`pelihara verify`: SOP step 4, the server against the inventory, over SSH, SNMP and DNS."""

from __future__ import annotations

import difflib
import getpass
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.markup import escape

from pelihara.cli.app import App, SuggestingGroup, one_selection
from pelihara.cli.output import (
    console,
    error,
    print_json,
    print_table,
    shown_time,
    wide_option,
)
from pelihara.core.errors import NotFoundError

if TYPE_CHECKING:
    pass

STATUS_STYLE = {"ok": "green", "mismatch": "bold red", "missing": "yellow",
                "unreachable": "magenta", "error": "magenta",
                "critical": "bold red reverse"}  # fmt: skip


class VerifyGroup(SuggestingGroup):
    """`pelihara verify HOST...` runs `verify run`; `show` and `list` are subcommands.

    Its help lists the options of `verify run`: they are what `verify HOST...` takes.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Completing `pelihara verify <TAB>` (resilient parsing, nothing typed yet): the
        # commands are offered, not `run`'s hosts.
        empty = not args and not ctx.resilient_parsing
        if empty or (args and args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[OPTIONS] [HOSTS]...", "|", "COMMAND [ARGS]..."]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        run = self.commands["run"]
        run_ctx = click.Context(run, info_name="run", parent=ctx)
        options = (param for param in run.get_params(run_ctx) if isinstance(param, click.Option))
        records = [record for option in options
                   if (record := option.get_help_record(run_ctx)) is not None]  # fmt: skip
        with formatter.section("Options (of `verify run`, which `verify HOST...` runs)"):
            formatter.write_dl(records)
        self.format_commands(ctx, formatter)


@click.group(cls=VerifyGroup)
def verify() -> None:
    """SOP step 4: prove the server is the one in the inventory, before anything is touched.

    `pelihara verify HOST...` means `pelihara verify run HOST...`: the options below are
    those of `verify run`, and go before or after the hosts.

    \b
      pelihara verify dinkes-web01 10.20.13.11     by hostname, IP or domain
      pelihara verify --opd kesehatan --ticket 2026/041
      pelihara verify --all --probe snmp,dns --format junit > verify.xml
      pelihara verify list;  pelihara verify show 12

    Exit status: 0 all ok; 1 something does not match; 4 a host could not be verified
    (unreachable, refused, or a check could not be made); 5 both; 2 usage or configuration
    error, or --ticket of a closed ticket; 6 a database error (the run stops, closed with
    status 6 where possible); 7 --ticket of the form 2026/0001 names no ticket.
    """


_F = TypeVar("_F", bound=Callable[..., Any])


def connection_options(command: _F) -> _F:
    """How a scan reaches the servers (`verify`, `snapshot take`): host keys, user, DNS
    servers, timeout."""
    options = (
        click.option("--trust-new-host-keys", is_flag=True,
                     help="Record SSH host keys seen for the first time (trust on first use). "
                     "A CHANGED key is refused all the same."),
        click.option("--known-hosts", "known_hosts", multiple=True,
                     type=click.Path(path_type=Path), default=[Path("~/.ssh/known_hosts")],
                     show_default=True,
                     help="known_hosts files to trust, besides the inventory's keys."),
        click.option("--user", "ssh_user", default=getpass.getuser, show_default="you",
                     help="SSH user for servers whose inventory names none."),
        click.option("--resolver", "resolvers", multiple=True, metavar="ADDR[:PORT]",
                     help="DNS server to ask (repeatable; default: the system's)."),
        click.option("--timeout", default=5.0, show_default=True,
                     type=click.FloatRange(0.1, 300),
                     help="Seconds to wait for a host to answer."),
    )  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def probe_names(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    from pelihara.collector.verify import PROBES

    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [name for name in names if name not in PROBES]
    if unknown or not names:
        raise click.BadParameter(f"choose from {', '.join(PROBES)}, comma-separated")
    return names


@verify.command("run")
@click.argument("hosts", nargs=-1)
@click.option("--all", "all_hosts", is_flag=True, help="Every server in the inventory.")
@click.option("--opd", metavar="TEXT", help="Every server of OPDs whose name contains TEXT.")
@click.option("--probe", "probes", default="ssh,snmp,dns", show_default=True,
              callback=probe_names, help="Sources to use: ssh, snmp, dns, local.")  # fmt: skip
@click.option("--ticket", metavar="REF", help="The maintenance ticket this run belongs to.")
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 512),
              help="Hosts verified at once.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json", "junit"]), default="table",
              show_default=True)  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Table: list the checks that passed too.")
@click.option("--include-withdrawn", is_flag=True,
              help="Withdrawn servers too (--all and --opd leave them out).")  # fmt: skip
@wide_option
@connection_options
@click.pass_obj
@click.pass_context
def run(ctx: click.Context, app: App, /, fmt: str, verbose: bool, **options: Any) -> None:
    """Verify servers: HOSTS by hostname, IP address or domain, or --all, or --opd (one of
    the three). Withdrawn servers are left out unless --include-withdrawn. --probe local
    reads the machine pelihara runs on, and refuses any other server.

    Checks: hostname and FQDN; the inventory's IP addresses on the host; DNS forward
    (A/AAAA) and reverse (PTR); CPU cores, memory, disk capacity; serial numbers (DMI,
    SNMP ENTITY-MIB, the inventory's components); OS; and the sources against each other
    (SSH and SNMP answering as different machines on one address).

    Every run is stored with its findings and raw observations: `pelihara verify show RUN`.
    Ctrl-C stops the scan and keeps the hosts already done.
    """
    from pelihara.cli.progress import host_progress
    from pelihara.cli.ticket import check_ticket_option
    from pelihara.collector.probes import without_invoke
    from pelihara.collector.verify import VerifyRequest, run_verify

    one_selection(options["hosts"], options["all_hosts"], options["opd"])
    check_ticket_option(app, options["ticket"])
    request = VerifyRequest(known_hosts=tuple(options.pop("known_hosts")), **options)
    database = app.where()
    with host_progress(fmt == "table", "verifying") as progress, without_invoke(), \
            _near_command(request.hosts):  # fmt: skip
        report = run_verify(database, request, app.who, on_host=progress.done,
                            on_start=progress.start, busy_wait=app.busy_wait)  # fmt: skip
    if report.withdrawn and fmt == "table":
        click.echo(f"left out, withdrawn: {', '.join(report.withdrawn)} (--include-withdrawn "
                   "verifies them too)", err=True)  # fmt: skip
    from pelihara.collector.outcomes import run_document

    assert report.run is not None  # a run that was not closed raised
    _print_document(run_document(report.run, report.findings), fmt, verbose)
    if report.interrupted:
        error(f"interrupted: {len(report.outcomes)} of {report.hosts_total} hosts done, kept "
              f"in run {report.run_id}")  # fmt: skip
        ctx.exit(130)
    ctx.exit(report.exit_status)


@contextmanager
def _near_command(hosts: tuple[str, ...]) -> Iterator[None]:
    """`pelihara verify lsit` verifies a server named "lsit": when there is none, and the
    name is close to one of verify's commands, the error says which."""
    try:
        yield
    except NotFoundError as exc:
        commands = [name for name in verify.commands if name != "run"]
        near = difflib.get_close_matches(hosts[0], commands, n=1) if len(hosts) == 1 else []
        if not near:
            raise
        raise NotFoundError(f"{exc}; or did you mean `pelihara verify {near[0]}`?") from None


def _show(app: App, run_id: int, fmt: str, verbose: bool) -> None:
    """A stored run, read back; in JSON with its raw observations too."""
    from pelihara.collector.outcomes import run_document
    from pelihara.collector.runs import load_run
    from pelihara.inventory.db import transaction

    raw = fmt == "json"
    with transaction(app.sessions(read_only=True), commit=False) as session:
        run = load_run(session, run_id, observations=raw)
        document = run_document(run, run.findings, run.observations if raw else None)
    _print_document(document, fmt, verbose)


def _print_document(document: dict[str, Any], fmt: str, verbose: bool) -> None:
    if fmt == "json":
        print_json(document)
    elif fmt == "junit":
        from pelihara.collector.junit import junit_xml

        click.echo(junit_xml(document["findings"], document["run"]), nl=False)
    else:
        _print_run(document, verbose)


def _styled(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, '')}]{status}[/]"


def _print_run(document: dict[str, Any], verbose: bool) -> None:
    findings = document["findings"]
    shown = [f for f in findings if verbose or f["status"] != "ok"]
    title = run_title(document)
    if shown:
        columns = ("host", "check", "source", "status", "severity", "expected", "observed",
                   "message")  # fmt: skip
        rows = ([escape(str(f[c] if f[c] is not None else "")) if c != "status"
                 else _styled(f[c]) for c in columns] for f in shown)  # fmt: skip
        print_table(columns, rows, title=escape(title), markup=True,
                    drop=("severity", "source"))  # fmt: skip
    _print_hosts(findings, "" if shown else escape(title))
    console().print(escape(closing_line(document)))


def run_title(document: dict[str, Any]) -> str:
    """The run's header: `verify run 12, 2026-03-04 10:15:02 WIB, by budi, ticket 2026/041`."""
    ticket = f"ticket {document['ticket']}" if document["ticket"] else "no ticket"
    return (f"verify run {document['run']}, {shown_time(document['started_at'])}, "
            f"by {document['actor']}, {ticket}")  # fmt: skip


def closing_line(document: dict[str, Any]) -> str:
    """The last line: how far the run got, and its verdict in words with the exit status."""
    from pelihara.collector.findings import verdict_words

    done = f"{document['hosts_done']}/{document['hosts_total']} hosts"
    state = "interrupted" if document["interrupted"] else "done"
    words = verdict_words(document["verdicts"])
    return (f"run {document['run']} {state}: {done}; {words} "
            f"(exit status {document['exit_status']})")  # fmt: skip


def _print_hosts(findings: list[dict[str, Any]], title: str) -> None:
    """Per host: the findings counted by kind, and its verdict (the worst kind first)."""
    from pelihara.collector.findings import host_verdicts, summary_bucket

    per_host: dict[str, Counter[str]] = {}
    for finding in findings:
        per_host.setdefault(finding["host"], Counter())[summary_bucket(finding)] += 1
    verdicts = host_verdicts(findings)
    rows = (
        (escape(host), c["ok"], c["info"], c["failing"], c["error"], c["unreached"],
         _styled(verdicts[host]))
        for host, c in sorted(per_host.items())
    )  # fmt: skip
    print_table(("host", "ok", "info", "failing", "error", "unreached", "verdict"), rows,
                title=title, markup=True)  # fmt: skip


@verify.command("show")
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--format", "fmt", default="table", show_default=True,
              type=click.Choice(["table", "json", "junit", "html", "pdf"]),
              help="html and pdf: the run as a document for the Kepala Bidang.")  # fmt: skip
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="html, pdf: Bahasa Indonesia, or English.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              metavar="FILE", help="html, pdf: where to write it (html default: stdout; pdf "
              "default: verifikasi-RUN.pdf here).")  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Table: list the checks that passed too.")
@wide_option
@click.pass_obj
def show(app: App, run_id: int, fmt: str, lang: str, output: Path | None, verbose: bool) -> None:
    """Show a stored verification run again (with its raw observations: --format json).

    \b
      pelihara verify show 12
      pelihara verify show 12 --format pdf              # verifikasi-12.pdf
      pelihara verify show 12 --format html --lang en -o run-12.html

    --format html|pdf: the run as a document for the Kepala Bidang (Bahasa
    Indonesia unless --lang en): the run, its ticket and operator, its times
    in the data center's zone (WIB), each host's verdict in words, the
    findings that are not ok, and signature lines; the letterhead of
    [organisation] in pelihara.toml when there is one, a plain header when
    not. A file written is printed as `SHA256  FILE` (an existing FILE is
    overwritten: the same run gives the same document). Nothing is recorded.

    Exit status: 0 shown; 2 --lang or -o without --format html|pdf; 6 a
    database error; 7 no such run.
    """
    if fmt in ("html", "pdf"):
        _document(app, run_id, fmt, lang, output)
        return
    if output is not None or lang != "id":
        raise click.UsageError("--lang and -o are for --format html or pdf")
    _show(app, run_id, fmt, verbose)


def _document(app: App, run_id: int, fmt: str, lang: str, output: Path | None) -> None:
    """The run as an HTML or PDF document: HTML to stdout unless OUTPUT; PDF to OUTPUT or
    `verifikasi-RUN.pdf`."""
    import hashlib

    from pelihara.collector.outcomes import run_document
    from pelihara.collector.runs import load_run
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.documents.verify_doc import file_name, render_run, run_content
    from pelihara.maintenance.organisation import load_organisation

    organisation = load_organisation(app.config)
    with transaction(app.sessions(read_only=True), commit=False) as session:
        run = load_run(session, run_id)
        document = run_document(run, run.findings)
    content = render_run(run_content(document, organisation, lang), fmt, app.zone)
    if output is None and fmt == "html":
        click.echo(content.decode("utf-8"), nl=False)
        return
    path = output if output is not None else Path(file_name(run_id, fmt))
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
    click.echo(f"{hashlib.sha256(content).hexdigest()}  {path}")


@verify.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1),
              help="How many runs, newest first.")  # fmt: skip
@click.option("--host", metavar="HOST",
              help="Only runs that verified this server (hostname, IP or domain).")  # fmt: skip
@click.option("--ticket", metavar="REF", help="Only runs of this maintenance ticket.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_obj
def list_(app: App, limit: int, host: str | None, ticket: str | None, fmt: str) -> None:
    """List verification runs, newest first.

    \b
      pelihara verify list --host dinkes-web01
      pelihara verify list --ticket 2026/041 --format json
    """
    from pelihara.collector.outcomes import run_summary
    from pelihara.collector.runs import RunFilter, list_runs
    from pelihara.inventory.db import transaction

    with transaction(app.sessions(read_only=True), commit=False) as session:
        documents = [run_summary(r) for r in list_runs(session, limit, RunFilter(host, ticket))]
    if fmt == "json":
        print_json(documents)
        return
    if not documents:
        click.echo("no verification runs" + (" match" if host or ticket else ""), err=True)
        return
    rows = [(d["run"], d["started_at"], d["actor"], d["ticket"] or "", d["probes"],
             f"{d['hosts_done']}/{d['hosts_total']}", d["exit_status"],
             "yes" if d["interrupted"] else "") for d in documents]  # fmt: skip
    print_table(("run", "started", "actor", "ticket", "probes", "hosts", "exit", "interrupted"),
                rows)  # fmt: skip
