"""Printing: tables on a terminal (rich, or plain text without it), JSON and CSV for scripts.

On a terminal a table fits its width without cutting a value short: columns wrap between
words, never inside one (a hostname, an address, a domain stays whole); when even that does
not fit, the least needed columns are left out and named. `--wide` shows every column at
its natural width. Times are shown in the data center's zone (`[display] time_zone`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pelihara.core.cells import cell_text
from pelihara.core.times import display_zone, iso_text, local_text

if TYPE_CHECKING:
    from rich.console import Console

    from pelihara.inventory.records import Record

FORMATS = ("table", "json", "csv")
WIDE = "pelihara.wide"  # in the click context's meta: `--wide` was given
# Columns that are never left out to fit a terminal: what names a server.
IDENTIFIERS = frozenset({"host", "hostname", "ip", "address", "domain", "key", "run", "seq"})
FLOOR = 8  # a column narrower than this wraps too much to read; words are kept whole anyway
READABLE = 20  # a wrapped column squeezed below this is worth an optional column left out
_F = TypeVar("_F", bound=Callable[..., Any])


def _set_wide(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[WIDE] = True


def wide_option(command: _F) -> _F:
    """`--wide`: tables at their natural width, every column, even past the terminal's edge."""
    return click.option("--wide", is_flag=True, expose_value=False, callback=_set_wide,
                        help="Table: every column at full width, even past the terminal's "
                        "edge (default: fit the terminal).")(command)  # fmt: skip


def wide() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(WIDE))


def time_zone() -> tzinfo:
    """The data center's time zone: the running command's configuration (`[display]
    time_zone` of pelihara.toml), else the file read now (the agent's single file)."""
    from pelihara.core.config import load_config

    ctx = click.get_current_context(silent=True)
    app = ctx.find_root().obj if ctx is not None else None
    zone = getattr(app, "zone", None)
    return zone if isinstance(zone, tzinfo) else display_zone(load_config())


def shown_time(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """MOMENT as every table shows a time: `2026-03-04 10:15:02 WIB` ("" for None)."""
    if moment is None:
        return ""
    return local_text(moment, zone or time_zone())


PIPE_WIDTH = 100_000


def console(stderr: bool = False) -> Console:
    """A rich console (imported on first use: `agent run` on a server never loads rich)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Into a pipe or file, tables keep their natural width instead of wrapping at 80 columns.
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(file=stream, highlight=False, width=width)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "", markup: bool = False,
    drop: Sequence[str] = (),
) -> int:  # fmt: skip
    """A table; cells are plain text (escaped) unless MARKUP says they carry rich markup.
    Times are shown in the data center's zone. On a terminal too narrow for it, the columns
    named in DROP are left out first, then the others from the right (never IDENTIFIERS).

    Without rich (the agent's single file carries none), a plain aligned table.
    """
    try:
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        return print_plain_table(columns, rows, title)

    cells = [[_cell_text(value) for value in row] for row in rows]
    out = console()
    shown, widths = list(range(len(columns))), None
    if not wide() and out.width < PIPE_WIDTH:
        shown, widths = fit_table(columns, cells, out.width, markup, drop)
    table = Table(*(columns[i] for i in shown), title=title or None, header_style="bold")
    for position, column in enumerate(table.columns):
        column.overflow = "fold"  # never "…": a value too long for its column wraps whole
        column.width = widths[position] if widths else None
    for row in cells:
        picked = (row[i] for i in shown)
        table.add_row(*(picked if markup else (escape(cell) for cell in picked)))
    needed = sum(widths) + 3 * len(shown) + 1 if widths else 0
    _wider(out, PIPE_WIDTH if wide() else needed).print(table, crop=False)
    left_out = [columns[i] for i in range(len(columns)) if i not in shown]
    if left_out:
        out.print(f"(left out to fit {out.width} columns: {', '.join(left_out)}; --wide shows "
                  "every column)", style="dim", markup=False)  # fmt: skip
    return len(cells)


def _wider(out: Console, width: int) -> Console:
    """OUT, or one like it WIDTH columns wide: a table whose words do not fit the terminal
    goes past its edge whole (the terminal wraps the lines) rather than cut."""
    from rich.console import Console

    if width <= out.width:
        return out
    # The same file and environment: the same colours are detected as for OUT.
    return Console(file=out.file, highlight=False, width=width, force_terminal=out.is_terminal)


def _cell_text(value: Any) -> str:
    return shown_time(value) if isinstance(value, datetime) else cell_text(value)


def _measure(cells: Iterable[str], markup: bool) -> tuple[int, int]:
    """The widest line of CELLS, and their longest word (what is never broken)."""
    from rich.cells import cell_len
    from rich.text import Text

    natural = longest = 0
    for cell in cells:
        plain = Text.from_markup(cell).plain if markup else cell
        for line in plain.splitlines() or [""]:
            natural = max(natural, cell_len(line))
        longest = max([longest, *(cell_len(word) for word in plain.split())])
    return natural, longest


def fit_table(
    columns: Sequence[str], cells: Sequence[Sequence[str]], width: int, markup: bool = False,
    drop: Sequence[str] = (),
) -> tuple[list[int], list[int] | None]:  # fmt: skip
    """The columns to show in WIDTH terminal columns, and their widths (None: natural)."""
    measured = [
        _measure([name, *(row[i] for row in cells)], markup) for i, name in enumerate(columns)
    ]
    natural = [m[0] for m in measured]
    floors = [
        min(n, max(longest, FLOOR)) for n, (_, longest) in zip(natural, measured, strict=True)
    ]
    named = [columns.index(name) for name in drop if name in columns]
    order = named + [i for i in reversed(range(len(columns))) if i not in named]
    order = [i for i in order if columns[i] not in IDENTIFIERS]
    return fit_columns(natural, floors, width, order, optional=len(named))


def fit_columns(
    natural: Sequence[int], floors: Sequence[int], width: int, drop_order: Sequence[int],
    optional: int = 0,
) -> tuple[list[int], list[int] | None]:  # fmt: skip
    """Which columns fit in WIDTH, and their content widths (None: all at NATURAL width).

    A column never gets less than its floor; columns are left out in DROP_ORDER until the
    floors fit. The first OPTIONAL of them are left out also to give a squeezed column
    READABLE characters. When even that does not fit, the floors are used (the table is
    wider than the terminal, and every word in it whole).

    >>> fit_columns([10, 30, 40], [10, 8, 12], 60, [2, 1])  # 60 = 3 * 3 + 1 + 50
    ([0, 1, 2], [10, 20, 20])
    >>> fit_columns([10, 30, 40], [10, 8, 35], 50, [2, 1])
    ([0, 1], None)
    >>> fit_columns([10, 6, 60], [10, 6, 9], 40, [1], optional=1)  # 6 more for column 2
    ([0, 2], [10, 23])
    """
    kept = list(range(len(natural)))
    queue = list(drop_order)
    while True:
        available = width - 3 * len(kept) - 1
        if sum(natural[i] for i in kept) <= available:
            return kept, None
        if sum(floors[i] for i in kept) <= available:
            widths = _share([natural[i] for i in kept], [floors[i] for i in kept], available)
            squeezed = any(w < min(natural[i], READABLE) for w, i in zip(widths, kept, strict=True))
            if not (squeezed and optional > len(drop_order) - len(queue)):
                return kept, widths
        elif not queue:
            return kept, [floors[i] for i in kept]
        kept.remove(queue.pop(0))


def _share(natural: list[int], floors: list[int], available: int) -> list[int]:
    """Widths between FLOORS and NATURAL summing to at most AVAILABLE: the widest columns
    give up the most (a level that no column passes, then what is left one by one)."""

    def at(level: int) -> list[int]:
        return [max(f, min(n, level)) for n, f in zip(natural, floors, strict=True)]

    low, high = 0, max(natural)
    while low < high:  # the highest level that fits
        middle = (low + high + 1) // 2
        low, high = (middle, high) if sum(at(middle)) <= available else (low, middle - 1)
    widths = at(low)
    for i in sorted(range(len(widths)), key=lambda i: natural[i] - widths[i], reverse=True):
        if sum(widths) < available and widths[i] < natural[i]:
            widths[i] += 1
    return widths


def print_plain_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = ""
) -> int:
    """A table in plain text: columns aligned with spaces, a dashed line under the header, an
    empty line after it. Returns the number of rows.

    >>> print_plain_table(("disk", "size"), [("sda", "256.0 GiB"), ("nvme0n1", None)], "Disks")
    Disks
    disk     size
    -------  ---------
    sda      256.0 GiB
    nvme0n1
    <BLANKLINE>
    2
    """
    cells = [[_cell_text(value) for value in row] for row in rows]
    widths = [max(map(len, column)) for column in zip(columns, *cells, strict=True)]
    lines = [title] if title else []
    for line in (columns, ["-" * width for width in widths], *cells):
        padded = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        lines.append("  ".join(padded).rstrip())
    click.echo("\n".join(lines) + "\n")
    return len(cells)


def _json_default(value: Any) -> Any:
    """Times as ISO-8601 in UTC with their offset (`...Z`); anything else as its text."""
    return iso_text(value) if isinstance(value, datetime) else str(value)


def json_text(document: Any) -> str:
    """DOCUMENT as every `--format json` prints it: indented, keys sorted, times in UTC."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True,
                      default=_json_default)  # fmt: skip


def print_json(document: Any) -> None:
    click.echo(json_text(document))


def print_records_json(records: Iterable[Record]) -> int:
    """A JSON array written as it streams, one record per line, without holding them all."""
    out = sys.stdout
    count = 0
    for record in records:
        out.write(("[\n" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


def print_records_csv(records: Iterable[Record]) -> int:
    from pelihara.inventory.exporter import write_csv

    return write_csv(records, sys.stdout)


def error(message: str) -> None:
    """`error: MESSAGE` on stderr; the message is plain text (brackets in it are kept)."""
    click.secho("error:", fg="red", bold=True, err=True, nl=False)
    click.echo(f" {message}", err=True)


def warning(message: str) -> None:
    """`warning: MESSAGE` on stderr: something to fix, though the command did its work."""
    click.secho("warning:", fg="yellow", bold=True, err=True, nl=False)
    click.echo(f" {message}", err=True)


SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size_text(size_bytes: int | None) -> str | None:
    """Bytes for people, in binary units: 274877906944 -> "256.0 GiB"."""
    if size_bytes is None:
        return None
    value, unit = float(size_bytes), 0
    while value >= 1024 and unit < len(SIZE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{size_bytes} B" if unit == 0 else f"{value:.1f} {SIZE_UNITS[unit]}"


@contextmanager
def working(description: str) -> Iterator[None]:
    """While a long step runs: on a terminal (stderr), a moving bar with DESCRIPTION and the
    time so far, gone when it ends; into a pipe, a file or a cron mail, nothing."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        progress.add_task(description, total=None)
        yield
