"""The error hierarchy shared by the packages; every error knows its exit status.

Library exceptions (SQLAlchemy, file parsers) are translated into these at the boundary,
so the command line never shows a raw traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the `pelihara` command, documented in the README."""

    OK = 0
    FINDINGS = 1  # the command ran and found something wrong (mismatch, broken audit chain)
    USAGE = 2  # bad command line or configuration
    INVALID_INPUT = 3  # an input file was rejected; nothing was written
    UNREACHABLE = 4  # hosts could not be reached
    NOT_FOUND = 7  # the thing asked for is not in the inventory (5 is verify's 1 + 4)
    DATABASE = 6  # the database could not be opened or is not initialised
    SOFTWARE = 70  # an unexpected failure: a bug in pelihara (sysexits EX_SOFTWARE)
    # Try again later (sysexits EX_TEMPFAIL; cron may simply retry): another collect holds
    # its lock, or another change held the database for longer than a writer waits.
    BUSY = 75


class PeliharaError(Exception):
    """Root of pelihara's errors."""

    exit_code: ExitCode = ExitCode.USAGE


class ConfigurationError(PeliharaError):
    """A setting, path or URL is wrong."""


class DatabaseError(PeliharaError):
    """The database is unreachable, not initialised, or refused a change."""

    exit_code = ExitCode.DATABASE


class BusyError(PeliharaError):
    """Another writer held the database for longer than this one waits; nothing was written."""

    exit_code = ExitCode.BUSY


class NotFoundError(PeliharaError):
    """A server (or other record) asked for by name does not exist."""

    exit_code = ExitCode.NOT_FOUND


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located by file, line and column.

    A spreadsheet's problems also name their CELL (`'Daftar Server'!D6`, as Excel's Go To
    takes it), which is shown instead of the line (there, the sheet's row).
    """

    file: str
    line: int
    column: str
    message: str
    cell: str = ""

    def __str__(self) -> str:
        if self.cell:
            where = f"{self.file}:{self.cell}"
        else:
            where = f"{self.file}:{self.line}" if self.line else self.file
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}: {self.message}"


PROBLEMS_SHOWN = 100  # a file with one systematic error must not print 38,000 lines


class InputError(PeliharaError):
    """An input file (or an edit) was rejected as a whole; `problems` lists every reason,
    sorted; `shown` the first PROBLEMS_SHOWN of them, `hidden` how many more there are."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, problems: list[Problem], outcome: str = "nothing was imported") -> None:
        self.problems = sorted(problems)
        self.outcome = outcome
        count = len(self.problems)
        more = f" (the first {PROBLEMS_SHOWN} shown)" if self.hidden else ""
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found{more}; {outcome}")

    @property
    def shown(self) -> list[Problem]:
        return self.problems[:PROBLEMS_SHOWN]

    @property
    def hidden(self) -> int:
        return max(0, len(self.problems) - PROBLEMS_SHOWN)
