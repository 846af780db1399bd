"""Sections and choices: the shell each one adds to the script, and how each reads its text."""

from __future__ import annotations

import subprocess

import pytest

from pelihara.facts.bundle import BUNDLE, HARDWARE, SOFTWARE, STATE
from pelihara.facts.output import parse_line
from pelihara.facts.section import (
    END,
    MARKER,
    BundleFormatError,
    Choice,
    Part,
    Section,
    split_sections,
)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = Section("first", "echo one", words)
SECOND = Section("second", "echo two", words)
LAST = Section("last", "echo three", words)
CHOICE = Choice(when=(("false", FIRST), ("true", SECOND)), otherwise=LAST)


def run(parts: tuple[Part, ...]) -> dict[str, str]:
    body = "".join(part.script() for part in parts)
    script = f"{MARKER}echo HEAD\n{body}echo '{END}'\n"
    done = subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True, check=True)
    return split_sections(done.stdout.decode(), header="HEAD")


def test_a_section_prints_its_marker_then_its_shell() -> None:
    assert FIRST.script() == "section first\necho one\n"
    assert run((FIRST,)) == {"first": "one\n"}


def test_a_section_reads_its_own_text_and_empty_text_when_missing() -> None:
    assert FIRST.read({"first": "a b\n", "second": "c\n"}) == ("a", "b")
    assert FIRST.read({}) == ()


def test_a_section_names_itself_in_its_parse_errors() -> None:
    hostname = Section("hostname", "uname -n", int)
    with pytest.raises(BundleFormatError, match="section hostname: invalid literal") as raised:
        hostname.read({"hostname": "web01"})
    assert raised.value.section == "hostname"


def test_a_section_name_is_one_shell_word() -> None:
    with pytest.raises(ValueError, match="lower-case word"):
        Section("x; rm -rf /", "true", parse_line)


def test_a_choice_runs_the_first_branch_whose_test_passes() -> None:
    assert CHOICE.script() == (
        "if false; then\n  section first\n  echo one\n"
        "elif true; then\n  section second\n  echo two\n"
        "else\n  section last\n  echo three\nfi\n"
    )
    assert run((CHOICE,)) == {"second": "two\n"}
    assert run((Choice(when=(("false", FIRST),), otherwise=LAST),)) == {"last": "three\n"}
    assert run((Choice(when=(("false", FIRST),)),)) == {}


def test_a_choice_reads_the_section_the_server_printed() -> None:
    assert CHOICE.read({"last": "z\n"}) == ("z",)
    assert CHOICE.read({"second": "y\n", "unrelated": "x\n"}) == ("y",)
    assert CHOICE.read({}) is None  # no branch printed: not read, never "none"


# --- a list read, a list not read (facts schema 2) ---------------------------------------------

EMPTY = Section("empty", "true || failed", words)
MISSING_TOOL = Section("missing", "pelihara-no-such-tool 2>/dev/null || failed", words)
FAILING = Section("failing", "echo partial; false || failed", words)


def test_a_tool_that_is_missing_or_fails_marks_its_section_not_read() -> None:
    """`cmd || failed` in a real sh: a missing or failing tool's section is left out (a
    partial answer with it), an empty answer is a section read and empty."""
    printed = run((EMPTY, MISSING_TOOL, FAILING, FIRST))
    assert printed == {"empty": "", "first": "one\n"}
    assert EMPTY.read_known(printed) == () and FIRST.read_known(printed) == ("one",)
    assert MISSING_TOOL.read_known(printed) is None and FAILING.read_known(printed) is None


def test_read_known_is_none_for_a_section_never_printed() -> None:
    assert FIRST.read_known({}) is None
    assert FIRST.read({}) == ()  # `read`: the parse of "" (one-value sections: None)


def test_a_failed_section_given_twice_is_still_refused() -> None:
    text = "HEAD\n@@pelihara:section a\n@@pelihara:failed\n@@pelihara:section a\n"
    with pytest.raises(BundleFormatError, match="given twice"):
        split_sections(text + END + "\n", header="HEAD")


def test_every_section_of_the_bundle_has_its_own_name() -> None:
    names = []
    for part in HARDWARE + STATE + SOFTWARE:
        found = part.sections() if isinstance(part, Choice) else (part,)
        names += [section.name for section in found if isinstance(section, Section)]
    assert len(names) == len(set(names)) == 22
    assert all(f"section {name}\n" in BUNDLE for name in names)
