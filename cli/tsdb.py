"""`pelihara tsdb`: read the time-series store, and see what waits in the spools."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from pelihara.cli.output import print_json, print_table

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    match = _DURATION.match(value.strip())
    if not match:
        raise click.BadParameter("a number and a unit: 30s, 15m, 2h, 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _tags(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for value in values:
        key, sep, tag = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: write KEY=VALUE, e.g. host=dinkes-web01")
        tags[key] = tag
    return tags


@click.group()
def tsdb() -> None:
    """The time-series store that `agent run` and `collect` fill."""


@tsdb.command()
@click.argument("measurement")
@click.option("--since", default="1h", show_default=True, callback=_duration,
              help="How far back: 30m, 2h, 7d.")  # fmt: skip
@click.option("--tag", "tags", multiple=True, callback=_tags, metavar="KEY=VALUE",
              help="Only points with this tag (repeatable): host=dinkes-web01.")  # fmt: skip
@click.option("--tsdb", "url", metavar="URL", envvar="PELIHARA_TSDB",
              help="Time-series store URL (default: the embedded one).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
def query(measurement: str, since: timedelta, tags: dict[str, str], url: str | None,
          fmt: str) -> None:  # fmt: skip
    """Points of MEASUREMENT (cpu, load, memory, swap, filesystem, diskio, net, system,
    cpu_time), newest last."""
    from pelihara.timeseries import Query, open_store

    now = datetime.now(UTC)
    store = open_store(url)
    try:
        points = store.query(Query(measurement, now - since, now + timedelta(seconds=1), tags))
    finally:
        store.close()
    rows: list[dict[str, Any]] = [
        {"time": datetime.fromtimestamp(p.time_ns / 1e9, UTC).isoformat(timespec="seconds"),
         **p.tags, **p.fields} for p in points
    ]  # fmt: skip
    if fmt == "json":
        print_json(rows)
        return
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["time"]
    print_table(columns, ([row.get(c) for c in columns] for row in rows), title=measurement)
