"""Printing: tables on a terminal (rich, or plain text without it), JSON and CSV for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from pelihara.core.cells import cell_text

if TYPE_CHECKING:
    from rich.console import Console

    from pelihara.inventory.records import Record

FORMATS = ("table", "json", "csv")


def console(stderr: bool = False) -> Console:
    """A rich console (imported on first use: `agent run` on a server never loads rich)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Into a pipe or file, tables keep their natural width instead of wrapping at 80 columns.
    width = None if stream.isatty() else 100_000
    return Console(file=stream, highlight=False, width=width)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "", markup: bool = False
) -> int:
    """A table; cells are plain text (escaped) unless MARKUP says they carry rich markup.

    Without rich (the agent's single file carries none), a plain aligned table.
    """
    try:
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        return print_plain_table(columns, rows, title)

    table = Table(*columns, title=title or None, header_style="bold")
    count = 0
    for row in rows:
        cells = (cell_text(value) for value in row)
        table.add_row(*(cells if markup else (escape(cell) for cell in cells)))
        count += 1
    console().print(table)
    return count


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
    cells = [[cell_text(value) for value in row] for row in rows]
    widths = [max(map(len, column)) for column in zip(columns, *cells, strict=True)]
    lines = [title] if title else []
    for line in (columns, ["-" * width for width in widths], *cells):
        padded = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        lines.append("  ".join(padded).rstrip())
    click.echo("\n".join(lines) + "\n")
    return len(cells)


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True, default=str))


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
