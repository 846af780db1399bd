"""A section of a one-round-trip script: the shell that prints it next to the parser that reads it.

Each fact family (`system`, `storage`, `network`, `software`, `host_keys`) declares its
sections beside their parsers, as pyinfra pairs a fact's `command()` with its `process()`;
`pelihara.facts.bundle` puts them, in order, into ONE fixed script, and splits its output
back into sections. A section's output is framed by a marker line:

    @@pelihara:section meminfo
    MemTotal:        8060996 kB

A section whose command is missing or fails says so with the line `@@pelihara:failed`
(the shell function `failed`), so that "not read" never reads as "nothing": `ss -Htulnp
2>/dev/null || failed`. A failed section is left out of `split_sections`' answer, as one
never printed; `read_known` gives None for both, `read` its parse of "".

>>> from pelihara.facts.system import parse_meminfo
>>> memory = Section("meminfo", "grep '^MemTotal:' /proc/meminfo 2>/dev/null", parse_meminfo)
>>> print(memory.script(), end="")
section meminfo
grep '^MemTotal:' /proc/meminfo 2>/dev/null
>>> memory.read({"meminfo": "MemTotal: 4 kB\\n"}), memory.read({})
(4096, None)
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pelihara.facts.model import FactsFormatError

BUNDLE_VERSION = 1
HEADER = f"@@pelihara:bundle {BUNDLE_VERSION}"
SECTION = "@@pelihara:section "
FAILED = "@@pelihara:failed"
END = "@@pelihara:end"

# Shell functions every section may use. `section NAME` prints the marker; the `printf '\n'`
# before it ends a section whose last line had no newline (parsers ignore blank lines).
# `failed` marks the current section as not read: its tool is missing or failed.
# One-line files are read by the shell itself (`get`, the `read` builtin), not by a process
# each: a process costs the server ~0.8 ms of CPU, the whole verify script ~8 ms (dash; see
# the README's benchmarks). `line FILE` prints what `cat` would, nothing when unreadable.
MARKER = r"""section() { printf '\n@@pelihara:section %s\n' "$1"; }
failed() { printf '\n@@pelihara:failed\n'; }
"""
READERS = r"""get() { l=; [ -r "$1" ] && { IFS= read -r l || [ -n "$l" ]; } 2>/dev/null <"$1"; }
line() { get "$1" && printf '%s\n' "$l"; }
"""

T = TypeVar("T")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class BundleFormatError(FactsFormatError):
    """The bundle's output is cut off, not a bundle, or one section has the wrong shape."""

    def __init__(self, message: str, section: str | None = None) -> None:
        super().__init__(f"section {section}: {message}" if section else message)
        self.section = section


class Part(Protocol):
    """What goes into the script: a section, or a choice between sections."""

    def script(self) -> str: ...


@dataclass(frozen=True)
class Section(Generic[T]):
    """One named part of the output: `shell` prints it, `parse` reads it.

    `shell` is fixed, read-only POSIX sh (valid bash, dash and ksh): nothing is ever
    formatted into it. A one-value section is emptied by a missing tool or an unreadable
    file (`2>/dev/null`), and `parse` reads "" as None. A list section calls `failed` when
    its tool is missing or fails, so that an empty section is a list read and empty, and
    `read_known` gives None for one not read.
    """

    name: str
    shell: str
    parse: Callable[[str], T]

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"a section name is a lower-case word: {self.name!r}")

    def script(self) -> str:
        return f"section {self.name}\n{self.shell.strip()}\n"

    def read(self, sections: Mapping[str, str]) -> T:
        """`parse` on this section's text ("" when it is missing), its errors named."""
        try:
            return self.parse(sections.get(self.name, ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleFormatError(str(exc), self.name) from exc

    def read_known(self, sections: Mapping[str, str]) -> T | None:
        """`read`, or None when the section is not there: not printed, or its command failed
        (schema 2: a list not read is None, an empty one is "none")."""
        return self.read(sections) if self.name in sections else None


@dataclass(frozen=True)
class Choice(Generic[T]):
    """Sections of which a server prints at most one: the first whose shell test passes
    (`when`), else `otherwise`. Which section a server printed decides the parser: the one
    dispatch point per fact (systemd or not; dpkg or rpm)."""

    when: tuple[tuple[str, Section[tuple[T, ...]]], ...]
    otherwise: Section[tuple[T, ...]] | None = None

    def sections(self) -> tuple[Section[tuple[T, ...]], ...]:
        found = tuple(section for _, section in self.when)
        return (*found, self.otherwise) if self.otherwise else found

    def script(self) -> str:
        branches = [
            f"{'elif' if index else 'if'} {test}; then\n{_indent(section.script())}"
            for index, (test, section) in enumerate(self.when)
        ]
        if self.otherwise:
            branches.append(f"else\n{_indent(self.otherwise.script())}")
        return "".join(branches) + "fi\n"

    def read(self, sections: Mapping[str, str]) -> tuple[T, ...] | None:
        """The values of the section the server printed; None when it printed none (no
        branch's tool is there: not read) or that one failed."""
        for section in self.sections():
            if section.name in sections:
                return section.read(sections)
        return None


def _indent(script: str) -> str:
    return textwrap.indent(script, "  ")


# The output is gathered in the shell and written at once: sshd sends each write of each
# command as an SSH packet of its own (~40 for verify), and the collector spends more CPU on
# a packet (paramiko, in Python) than on a host's parse. `$(...)` drops NUL bytes, which no
# parser keeps, and the trailing newline, put back inside the one argument: dash writes a
# `printf '%s\n'` as two writes, so two packets.
def gathered(script: str) -> str:
    """SCRIPT with its output gathered in the shell and written at once."""
    return f'out=$(\n{script})\nprintf %s "$out\n"\n'


def split_sections(text: str, header: str = HEADER) -> dict[str, str]:
    """Section name -> its text ("" when empty); a section marked `@@pelihara:failed` is
    left out, as one not printed. Refuses output without the header or the end line (a
    cut-off answer must not read as "no packages"), and a section given twice. Lines before
    the header (a chatty shell startup file) are ignored."""
    lines = text.splitlines()
    if header not in lines:
        raise BundleFormatError(f"not the output of the expected script (no {header!r} line)")
    start = lines.index(header) + 1
    if END not in lines[start:]:
        raise BundleFormatError("the bundle's output is incomplete (no end line)")
    sections: dict[str, list[str]] = {}
    failed: set[str] = set()
    name, current = "", list[str]()
    for line in lines[start : lines.index(END, start)]:
        if line.startswith(SECTION):
            name = line.removeprefix(SECTION).strip()
            if name in sections:
                raise BundleFormatError("given twice", name)
            current = sections[name] = []
        elif line == FAILED:
            failed.add(name)
        else:
            current.append(line)
    return {name: _body(lines) for name, lines in sections.items() if name not in failed}


def _body(lines: list[str]) -> str:
    text = "\n".join(lines).strip("\n")
    return text + "\n" if text else ""
