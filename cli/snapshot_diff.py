"""`pelihara snapshot diff`: what really changed on a server, ranked, in the terminal or as
JSON, Markdown or HTML; a ticket's diffs stored for the report."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from pelihara.cli.app import App
from pelihara.cli.output import (
    console,
    error,
    json_text,
    print_table,
    shown_time,
    time_zone,
    warning,
    wide_option,
)
from pelihara.cli.tsdb import duration

if TYPE_CHECKING:
    from pelihara.collector.snapshot_diff import DiffInputs, DiffReport, HostDiff, Side
    from pelihara.facts.health_window import HostHealthComparison, Thresholds

    Health = dict[str, HostHealthComparison]  # by host, for the table and the documents

FORMATS = ("table", "json", "markdown", "html")
SEVERITY_STYLE = {"high": "bold red", "warning": "yellow", "low": "cyan", "info": "dim"}
VERDICT_STYLE = {"same": "green", "changed": "yellow", "different": "bold red",
                 "unknown": "magenta"}  # fmt: skip


@click.command("diff")
@click.argument("args", nargs=-1, metavar="A B | --ticket REF [HOST]...")
@click.option("--ticket", metavar="REF",
              help="Each host's latest pre against its latest post snapshot of the "
              "ticket (HOSTs: only these); the diffs are stored for the report.")  # fmt: skip
@click.option("--rules", "rules_file", metavar="FILE", type=click.Path(path_type=Path),
              help="Rules to use instead of the packaged ones (the whole file).")  # fmt: skip
@click.option("--intent", "intent_file", metavar="FILE", type=click.Path(path_type=Path),
              help="YAML: the changes the work was meant to make.")  # fmt: skip
@click.option("--any-host", is_flag=True,
              help="A B: allow snapshots of two servers (are they one machine?).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)  # fmt: skip
@click.option("-o", "--output", metavar="FILE", type=click.Path(path_type=Path),
              help="Write json, markdown or html to FILE instead of stdout.")  # fmt: skip
@click.option("--force", is_flag=True, help="-o: replace FILE if it exists (default: refuse).")
@click.option("--health", is_flag=True,
              help="Also compare each host's health series in the --window before the pre "
              "and after the post snapshot (from the time-series store).")  # fmt: skip
@click.option("--window", default="1h", show_default=True, callback=duration,
              help="--health: how long before pre and after post (30m, 2h, 1d).")  # fmt: skip
@click.option("--health-thresholds", "thresholds_file", metavar="FILE",
              type=click.Path(path_type=Path),
              help="--health: YAML thresholds instead of the defaults.")  # fmt: skip
@click.option("--tsdb", metavar="URL", envvar="PELIHARA_TSDB",
              help="--health: the time-series store (default: the embedded one).")  # fmt: skip
@wide_option
@click.pass_obj
@click.pass_context
def diff(ctx: click.Context, app: App, /, args: tuple[str, ...], ticket: str | None,
         rules_file: Path | None, intent_file: Path | None, any_host: bool, fmt: str,
         output: Path | None, force: bool, health: bool, window: timedelta,
         thresholds_file: Path | None, tsdb: str | None) -> None:  # fmt: skip
    """Compare snapshot A (before) with B (after), or each host of a ticket.

    Items are matched by stable keys (disks by serial, interfaces by MAC, packages and
    services by name, ports by protocol, address and port), volatile values are left
    out, and every change has a category and a severity (rules: --rules). The table
    shows the worst first, the identity verdict (same machine, parts changed, another
    machine) with its evidence, and what could not be compared. With --intent each
    change is marked expected or not, and intents not seen are listed:

    \b
      version: 1
      intents:
        - {action: replace_disk, serial: S3Z1NB0K, by: S3Z1NB0X}
        - {action: upgrade_package, name: openssl}

    A ticket's diffs are stored (once: the same inputs are recognised) with an
    audit entry each, for the report. A host with one side is named, not hidden.

    \b
      pelihara snapshot diff 12 15
      pelihara snapshot diff --ticket 2026/041 --intent work.yaml
      pelihara snapshot diff --ticket 2026/041 dinkes-web01 --format json
      pelihara snapshot diff --ticket 2026/041 --format html -o diff.html

    With --health, each host's CPU, load, memory and mount usage in the --window
    before pre and after post (mean, p95), flagged where the after side moved beyond
    a threshold.

    Exit status: 0 nothing unexpected at warning or above; 1 unexpected changes
    (warning or above, not declared by an intent) or health flagged; 4 a host of the
    ticket lacks its pre or post snapshot (the others are diffed), or --health could
    not read the store; 5 both 1 and 4; 3 a rules or intent file refused; 2 usage; 6
    a database error; 7 no such snapshot or ticket.
    """
    from pelihara.collector.snapshot_diff import add_health
    from pelihara.inventory.exporter import refuse_existing

    ids = _arguments(args, ticket, any_host)
    if output is not None and fmt == "table":
        raise click.UsageError("-o writes --format json, markdown or html; a table is shown")
    if output is not None:
        refuse_existing(output, force)  # before a ticket's diffs are stored
    inputs = _inputs(rules_file, intent_file)  # a bad file stops here: nothing read or stored
    thresholds = _thresholds(thresholds_file) if health else None
    report = _report(app, ticket, args, ids, inputs, any_host)
    found: Health = {}
    if thresholds is not None:
        found = add_health(report, tsdb, window, thresholds)
        if report.health_error:
            error(f"health not compared: {report.health_error}")
    _emit(report, fmt, output, force, intents=inputs.intents is not None, health=found, app=app)
    ctx.exit(report.exit_status)


def _thresholds(path: Path | None) -> Thresholds:
    from pelihara.collector.health_window import load_thresholds
    from pelihara.facts.health_window import DEFAULT_THRESHOLDS

    return load_thresholds(path) if path is not None else DEFAULT_THRESHOLDS


def _arguments(args: tuple[str, ...], ticket: str | None, any_host: bool) -> tuple[int, int]:
    """A and B as snapshot ids; with --ticket, ARGS are hosts ((0, 0) returned)."""
    if ticket is not None:
        if any_host:
            raise click.UsageError("--any-host is for A B: a ticket's diff is per host")
        return 0, 0
    if len(args) != 2:
        raise click.UsageError("give two snapshot ids A B (before, after), or --ticket REF")
    try:
        return int(args[0]), int(args[1])
    except ValueError:
        raise click.UsageError(
            f"A and B are snapshot ids (numbers), not {' '.join(args)!r}: "
            "`pelihara snapshot list` shows them; hosts go with --ticket REF"
        ) from None


def _inputs(rules_file: Path | None, intent_file: Path | None) -> DiffInputs:
    from pelihara.collector.diff_inputs import default_rules, intents_from_file, rules_from_file
    from pelihara.collector.snapshot_diff import DiffInputs

    rules = rules_from_file(rules_file) if rules_file else default_rules()
    return DiffInputs(rules, intents_from_file(intent_file) if intent_file else None)


def _report(
    app: App, ticket: str | None, hosts: tuple[str, ...], ids: tuple[int, int],
    inputs: DiffInputs, any_host: bool,
) -> DiffReport:  # fmt: skip
    """The diffs: of A and B (read only), or the ticket's, stored (one commit).

    `--health` and `--window` (the health-window comparison) are wired after this: each
    HostDiff's `health`, from the time-series store, set with `dataclasses.replace`."""
    from pelihara.collector.diff_store import store_diffs
    from pelihara.collector.snapshot_diff import diff_pair, diff_ticket
    from pelihara.inventory.db import transaction

    if ticket is None:
        with transaction(app.sessions(read_only=True), commit=False) as session:
            return diff_pair(session, ids[0], ids[1], inputs, any_host)
    with transaction(app.sessions()) as session:
        report = diff_ticket(session, ticket, hosts, inputs)
        return store_diffs(session, app.who, report, inputs)


def _emit(report: DiffReport, fmt: str, output: Path | None, force: bool, intents: bool,
          health: Health, app: App) -> None:  # fmt: skip
    """The report on stdout or into OUTPUT; hosts not diffed and warnings on stderr."""
    from pelihara.facts.diff_render import report_html, report_markdown
    from pelihara.facts.health_text import health_html, health_markdown
    from pelihara.inventory.exporter import write_text_file

    for item in report.diffs:
        for text in item.warnings:
            warning(f"{item.host}: {text}")
    for missing in report.missing:
        error(f"{missing.host}: not diffed, no {' and no '.join(missing.missing)} snapshot "
              f"in ticket {report.ticket}")  # fmt: skip
    if fmt == "table":
        _print_report(report, intents, health)
        return
    if fmt == "json":
        text = json_text(report.to_dict())
    elif fmt == "markdown":
        extras = {host: health_markdown(found, app.zone) for host, found in health.items()}
        text = report_markdown(report.to_dict(), extras)
    else:
        extras = {host: health_html(found, app.zone) for host, found in health.items()}
        text = report_html(report.to_dict(), extras)
    if output is None:
        click.echo(text.rstrip("\n"))
        return
    write_text_file(output, text if text.endswith("\n") else text + "\n", force)
    click.echo(f"written to {output}", err=True)


def _print_report(report: DiffReport, intents: bool, health: Health) -> None:
    for item in report.diffs:
        _print_host(item, intents)
        if item.host in health:
            _print_health(health[item.host])
    console().print(escape(closing_line(report)))


def _print_health(found: HostHealthComparison) -> None:
    """The host's health around the window: a line, and the table when there are series."""
    from pelihara.facts.health_text import COLUMNS, health_rows, summary_text, windows_text

    console().print(escape(f"health: {windows_text(found, time_zone())}"))
    if found.has_series:
        print_table(COLUMNS, health_rows(found))
    console().print(escape(summary_text(found)))
    console().print()


def _side_text(side: Side) -> str:
    return f"snapshot {side.snapshot} ({side.phase}, {shown_time(side.taken_at)})"


def _print_host(item: HostDiff, intents: bool) -> None:
    from pelihara.facts.diff_render import intent_text, unread_text

    data = item.data
    out = console()
    out.print(f"[bold]{escape(item.host)}[/]: {escape(_side_text(item.before))} -> "
              f"{escape(_side_text(item.after))}")  # fmt: skip
    _print_identity(data["identity"])
    if data["changes"]:
        _print_changes(data, intents)
    else:
        out.print("no changes")
    for intent in data["missing_intents"]:
        out.print(f"[yellow]expected but not seen:[/] {escape(intent_text(intent))}")
    for unread in data["not_compared"]:
        out.print(f"not compared: {escape(unread_text(unread))}")
    out.print(escape(host_line(item)))
    out.print()


def _print_identity(identity: dict[str, Any]) -> None:
    """The verdict; with all its signs when they do not all agree (a line when they do)."""
    from pelihara.facts.diff_render import VERDICTS

    verdict = identity["verdict"]
    words = f"[{VERDICT_STYLE[verdict]}]{escape(VERDICTS[verdict])}[/]"
    evidence = identity["evidence"]
    if verdict == "same":
        signs = "; ".join(f"{e['name']} {e['outcome'].replace('_', ' ')}" for e in evidence)
        console().print(f"identity: {words} ({escape(signs)})")
        return
    console().print(f"identity: {words}")
    rows = ((e["name"], e["outcome"].replace("_", " "), _evidence_value(e["before"]),
             _evidence_value(e["after"])) for e in evidence)  # fmt: skip
    print_table(("sign", "outcome", "before", "after"), rows)


def _evidence_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def _print_changes(data: dict[str, Any], intents: bool) -> None:
    from pelihara.facts.diff_render import rows

    columns = ("severity", "category", "change", "before", "after", "expected")
    shown = columns if intents else columns[:-1]
    cells = (_styled_row(row, intents) for row in rows(data))
    print_table(shown, cells, markup=True, drop=("category",))


def _styled_row(row: tuple[str, ...], intents: bool) -> list[str]:
    severity, category, change, before, after, expected = row
    cells = [f"[{SEVERITY_STYLE[severity]}]{severity}[/]",
             *(escape(cell) for cell in (category, change, before, after))]  # fmt: skip
    if intents:
        unexpected = expected == "no" and severity in ("warning", "high")
        cells.append(f"[bold red]{expected}[/]" if unexpected else escape(expected))
    return cells


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def host_line(item: HostDiff) -> str:
    """One host's summary: `web01: 3 changes (1 high, 2 low), 1 unexpected at warning or
    above; stored as diff 4`."""
    summary = item.data["summary"]
    counts = ", ".join(f"{n} {s}" for s, n in reversed(summary["by_severity"].items()) if n)
    text = f"{item.host}: {_plural(summary['changes'], 'change')}"
    text += f" ({counts})" if counts else ""
    text += f", {summary['unexpected_warning_or_above']} unexpected at warning or above"
    if summary["missing_intents"]:
        text += f", {_plural(summary['missing_intents'], 'intent')} not seen"
    if item.stored is not None:
        how = "stored" if item.stored.new else "already stored"
        text += f"; {how} as diff {item.stored.id}"
    return text


def closing_line(report: DiffReport) -> str:
    """The verdict in words, with the exit status: what a person reads last."""
    flagged = [d.host for d in report.diffs if d.diff.unexpected()]
    where = f"ticket {report.ticket}: " if report.ticket else ""
    done = f"{_plural(len(report.diffs), 'host')} diffed"
    if flagged:
        verdict = f"unexpected changes at warning or above on {', '.join(flagged)}"
    else:
        verdict = "nothing unexpected at warning or above"
    text = f"{where}{done}; {verdict}"
    unwell = [d.host for d in report.diffs if d.health and d.health.get("flagged")]
    if unwell:
        text += f"; health beyond the thresholds on {', '.join(unwell)}"
    if report.health_error:
        text += "; health not compared (the store could not be read)"
    if report.missing:
        names = ", ".join(f"{m.host} (no {' and no '.join(m.missing)})" for m in report.missing)
        text += f"; not diffed, a side missing: {names}"
    return f"{text} (exit status {report.exit_status})"
