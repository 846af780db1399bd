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
    assert CHOICE.read({}) == ()


def test_every_section_of_the_bundle_has_its_own_name() -> None:
    names = []
    for part in HARDWARE + STATE + SOFTWARE:
        found = part.sections() if isinstance(part, Choice) else (part,)
        names += [section.name for section in found if isinstance(section, Section)]
    assert len(names) == len(set(names)) == 22
    assert all(f"section {name}\n" in BUNDLE for name in names)
