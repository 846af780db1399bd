"""Printing: tables on a terminal (rich), JSON and CSV for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from inventory.exporter import write_csv
from inventory.records import Record, cell_text

FORMATS = ("table", "json", "csv")


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # Into a pipe or file, tables keep their natural width instead of wrapping at 80 columns.
    width = None if stream.isatty() else 100_000
    return Console(file=stream, highlight=False, width=width)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> int:
    table = Table(*columns, title=title or None, header_style="bold")
    count = 0
    for row in rows:
        table.add_row(*(cell_text(value) for value in row))
        count += 1
    console().print(table)
    return count


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
    return write_csv(records, sys.stdout)


def error(message: str) -> None:
    console(stderr=True).print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
