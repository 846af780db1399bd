"""The progress bar of a scan over many hosts (`verify`, `snapshot take`): on a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.markup import escape

from pelihara.cli.output import console

if TYPE_CHECKING:
    from rich.progress import Progress

    from pelihara.collector.outcomes import HostOutcome


class Quiet:
    """No progress: into a pipe, a file or a cron mail go only the results."""

    def start(self, total: int) -> None:
        pass

    def done(self, outcome: HostOutcome) -> None:
        pass


class _Bar(Quiet):
    """A progress bar on stderr: hosts done of the total, the last one done, time left."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress = progress
        self.task = progress.add_task(label, total=None, last="")

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def done(self, outcome: HostOutcome) -> None:
        self.progress.update(self.task, advance=1, last=escape(outcome.expected.hostname))


@contextmanager
def host_progress(shown: bool, label: str) -> Iterator[Quiet]:
    """A bar labelled LABEL on stderr when SHOWN and stderr is a terminal; else nothing."""
    if not shown or not sys.stderr.isatty():
        yield Quiet()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("hosts"), TimeRemainingColumn(),
               TextColumn("{task.fields[last]}"))  # fmt: skip
    with RichProgress(*columns, console=console(stderr=True), transient=True) as progress:
        yield _Bar(progress, label)
