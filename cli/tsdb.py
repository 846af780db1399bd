"""`pelihara tsdb`: read the time-series store, and see what waits in the spools."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from pelihara.cli.app import SuggestingGroup
from pelihara.cli.output import (
    error,
    print_json,
    print_table,
    shown_time,
    size_text,
    warning,
    wide_option,
)
from pelihara.core.durations import parse_duration

if TYPE_CHECKING:
    from pelihara.timeseries.base import Point
    from pelihara.timeseries.spool import RejectedPoint
    from pelihara.timeseries.spools import Replayed, SpoolStatus


def duration(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    """A click callback: `30s`, `15m`, `2h`, `7d` as a timedelta (`--since`, `--window`)."""
    try:
        found = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if found <= timedelta(0):
        raise click.BadParameter(f"{value!r} is no time at all: give more than zero")
    return found


def _tags(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for value in values:
        key, sep, tag = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: write KEY=VALUE, e.g. host=dinkes-web01")
        tags[key] = tag
    return tags


@click.group(cls=SuggestingGroup)
def tsdb() -> None:
    """The time-series store that `agent run`, `collect` and `snapshot take` fill."""


@tsdb.command()
@click.argument("measurement")
@click.option("--since", default="1h", show_default=True, callback=duration,
              help="How far back: 30m, 2h, 7d.")  # fmt: skip
@click.option("--tag", "tags", multiple=True, callback=_tags, metavar="KEY=VALUE",
              help="Only points with this tag (repeatable): host=dinkes-web01.")  # fmt: skip
@click.option("--tsdb", "url", metavar="URL", envvar="PELIHARA_TSDB",
              help="Time-series store URL (default: the embedded one).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True,
              help="table: sizes for people (GiB); json: exact values.")  # fmt: skip
@wide_option
def query(measurement: str, since: timedelta, tags: dict[str, str], url: str | None,
          fmt: str) -> None:  # fmt: skip
    """Points of MEASUREMENT (cpu, cpu_time, load, memory, swap, filesystem, diskio, net,
    system), newest last: the time, the tags (host, source, ...), the fields in their
    natural order (load1, load5, load15).
    """
    from pelihara.timeseries import Query, open_store
    from pelihara.timeseries.measurements import MEASUREMENTS, typed

    now = datetime.now(UTC)
    store = open_store(url, read_only=True)
    try:
        found = store.query(Query(measurement, now - since, now + timedelta(seconds=1), tags))
    finally:
        store.close()
    points = [typed(point) for point in found]
    if not points and measurement not in MEASUREMENTS:
        raise click.BadParameter(
            f"no such measurement{_near(measurement, MEASUREMENTS)}: pelihara writes "
            f"{', '.join(sorted(MEASUREMENTS))}",
            param_hint="MEASUREMENT",
        )
    if fmt == "json":
        print_json([{"time": _utc(p.time_ns), **p.tags, **p.fields} for p in points])
    elif not points:
        where = "".join(f", {key}={value}" for key, value in tags.items())
        click.echo(f"no {measurement} points since {shown_time(now - since)}{where}", err=True)
    else:
        _print_points(measurement, points)


def _near(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _print_points(measurement: str, points: list[Point]) -> None:
    """A table: time, tags, fields in their natural order; sizes in binary units."""
    from pelihara.timeseries.measurements import BYTES, field_order, kind, tag_order

    tags = tag_order({key for point in points for key in point.tags})
    fields = field_order(measurement, {key for point in points for key in point.fields})
    sizes = {name for name in fields if kind(measurement, name) == BYTES}
    rows = (
        [_moment(point.time_ns), *(point.tags.get(t) for t in tags),
         *(size_text(v) if f in sizes and isinstance(v, int) else v
           for f, v in ((f, point.fields.get(f)) for f in fields))]
        for point in points
    )  # fmt: skip
    print_table(["time", *tags, *fields], rows, title=measurement)


@tsdb.command()
@click.option("--tsdb", "url", metavar="URL", envvar="PELIHARA_TSDB",
              help="Only the spools of this store; with --replay, the store to send to "
              "(default: every spool; with --replay, the embedded store).")  # fmt: skip
@click.option("--rejected", "show_rejected", is_flag=True,
              help="Also list the set-aside points themselves: time, measurement, tags, "
              "fields, the store's reason.")  # fmt: skip
@click.option("--replay", is_flag=True,
              help="Put the set-aside points back in the queue and send everything waiting "
              "to the store (after fixing what made it refuse them).")  # fmt: skip
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1),
              help="Set-aside points listed per spool, with --rejected.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_context
def spool(ctx: click.Context, url: str | None, show_rejected: bool, replay: bool, limit: int,
          fmt: str) -> None:  # fmt: skip
    """What waits in the spools, what the store refused and why, and sending it again.

    `agent run`, `collect` and `snapshot take` put every point first into a spool, a file
    in the data
    directory (one per writer and store), and delete it only once the store has it. This
    shows, for each spool: the store it feeds; the points waiting (how many, the times of
    the oldest and newest sample, by measurement); why the last flush failed; points
    dropped because the spool was full; and the points SET ASIDE because the store refused
    them as malformed, counted by the store's reason. A store (or a proxy in front of it)
    that refuses every request sets nothing aside: the points wait, and the writer exits
    with status 2 and the store's reason.

    After fixing what made the store refuse points (a limit raised, a tag shortened), --replay
    puts them back in the queue and sends them. Repeating it is safe: a point the store
    already has is kept once (VictoriaMetrics: run it with -dedup.minScrapeInterval=1ms;
    without it the replay warns). Points refused again are set aside again.

    \b
    Examples:
      pelihara tsdb spool
      pelihara tsdb spool --rejected --format json
      pelihara tsdb spool --replay --tsdb victoriametrics://tsdb.dc.example:8428

    Exit status: 0 shown, or replayed and sent; with --replay, 4 the store is unreachable
    and 2 it refused the credentials or every request (the points wait in the spool).
    """
    from pelihara.timeseries import spool_files
    from pelihara.timeseries.spools import spool_status

    if replay and show_rejected:
        raise click.UsageError("--replay sends the set-aside points: list them before, not with it")
    if replay:
        ctx.exit(_replay(url, fmt))
    _show([spool_status(path) for path in spool_files(url)], show_rejected, limit, fmt)


def _moment(moment: datetime | int | None) -> datetime | None:
    """A time, or nanoseconds since the epoch, as an aware time (to the second)."""
    if isinstance(moment, int):
        return datetime.fromtimestamp(moment // 1_000_000_000, UTC)
    return moment


def _utc(moment: datetime | int | None) -> str | None:
    """A time (or nanoseconds since the epoch) as UTC ISO-8601 with `Z`, to the second: JSON."""
    found = _moment(moment)
    if found is None:
        return None
    return found.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _when(moment: datetime | int | None) -> str:
    """A time as people read it, in the data center's zone: text and tables."""
    return shown_time(_moment(moment))


def _rejected_document(item: RejectedPoint) -> dict[str, Any]:
    point = item.point
    return {"time": _utc(point.time_ns), "measurement": point.measurement,
            "tags": dict(point.tags), "fields": dict(point.fields), "reason": item.reason,
            "rejected_at": _utc(item.rejected_at)}  # fmt: skip


def _status_document(status: SpoolStatus) -> dict[str, Any]:
    return {
        "file": str(status.path), "writer": status.owner, "store": status.store_url,
        "pending": status.pending, "oldest": _utc(status.oldest_ns),
        "newest": _utc(status.newest_ns),
        "by_measurement": [{"measurement": w.measurement, "points": w.points,
                            "oldest": _utc(w.oldest_ns), "newest": _utc(w.newest_ns)}
                           for w in status.by_measurement],
        "dropped_over_cap": status.dropped_over_cap,
        "last_error": status.last_error, "last_error_at": _utc(status.last_error_at),
        "rejected": status.rejected,
        "rejected_by_reason": [{"reason": r.reason, "points": r.points,
                                "first": _utc(r.first_at), "last": _utc(r.last_at)}
                               for r in status.rejected_by_reason],
    }  # fmt: skip


def _show(statuses: list[SpoolStatus], show_rejected: bool, limit: int, fmt: str) -> None:
    from pelihara.timeseries.spools import rejected_points

    listed = {s.path: rejected_points(s.path, limit) if show_rejected else [] for s in statuses}
    if fmt == "json":
        print_json([{**_status_document(status),
                     **({"rejected_points": [_rejected_document(r) for r in listed[status.path]]}
                        if show_rejected else {})} for status in statuses])  # fmt: skip
        return
    if not statuses:
        click.echo("no spool: nothing waits to be sent")
    for status in statuses:
        _print_status(status)
        if show_rejected and listed[status.path]:
            _print_rejected(listed[status.path], status.rejected)


def _print_status(status: SpoolStatus) -> None:
    click.echo(f"{status.owner} -> {status.store_url or '(store not recorded)'}\n"
               f"  file        {status.path}")  # fmt: skip
    span = f", sampled {_when(status.oldest_ns)} to {_when(status.newest_ns)}"
    click.echo(f"  waiting     {status.pending} points{span if status.pending else ''}")
    if status.last_error:
        click.echo(f"  last error  {_when(status.last_error_at)}  {status.last_error}")
    if status.dropped_over_cap:
        click.echo(f"  dropped     {status.dropped_over_cap} oldest points, the spool being full")
    click.echo(f"  set aside   {status.rejected} points refused by the store\n")
    if status.by_measurement:
        print_table(("measurement", "points", "oldest", "newest"),
                    [(w.measurement, w.points, _when(w.oldest_ns), _when(w.newest_ns))
                     for w in status.by_measurement], title="waiting")  # fmt: skip
    if status.rejected_by_reason:
        print_table(("reason", "points", "first", "last"),
                    [(r.reason, r.points, _when(r.first_at), _when(r.last_at))
                     for r in status.rejected_by_reason], title="set aside")  # fmt: skip
        command = click.get_current_context().command_path
        click.echo(f"  after a fix, send them again: {command} --replay --tsdb URL\n")


def _print_rejected(items: list[RejectedPoint], total: int) -> None:
    rows = [(_when(r.point.time_ns), r.point.measurement, _pairs(dict(r.point.tags)),
             _pairs(dict(r.point.fields)), r.reason) for r in items]  # fmt: skip
    title = f"set-aside points ({len(items)} of {total})"
    print_table(("time", "measurement", "tags", "fields", "reason"), rows, title=title)


def _pairs(values: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items())


def _replay(url: str | None, fmt: str) -> int:
    """Replay every spool of the store at URL; print what happened; the exit status."""
    from pelihara.timeseries import open_store, spool_files
    from pelihara.timeseries.spools import replay

    store = open_store(url)
    try:
        done = [replay(path, store, warning) for path in spool_files(store.url)]
    finally:
        store.close()
    if fmt == "json":
        print_json([_replayed_document(item) for item in done])
    elif not done:
        click.echo(f"no spool for {store.url}: nothing to send again")
    for item in done:
        _print_replayed(item, fmt)
    failed = [item.flush.error for item in done if item.flush.error is not None]
    return int(getattr(failed[0], "exit_code", 4)) if failed else 0


def _replayed_document(item: Replayed) -> dict[str, Any]:
    flush = item.flush
    return {"file": str(item.path), "moved_back": item.moved, "sent": flush.sent,
            "rejected": flush.rejected, "pending": flush.pending,
            "error": None if flush.error is None else str(flush.error)}  # fmt: skip


def _print_replayed(item: Replayed, fmt: str) -> None:
    flush = item.flush
    if fmt == "table":
        click.echo(f"{item.path.name}: {item.moved} set-aside points back in the queue; "
                   f"sent {flush.sent}, set aside again {flush.rejected}, "
                   f"waiting {flush.pending}")  # fmt: skip
    if flush.error is not None:
        error(f"{flush.error}; {flush.pending} points wait in {item.path}")
