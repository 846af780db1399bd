"""The README names the test behind each promise (the reliability matrix, the benchmarks): each
named test must exist, or the README promises what nothing checks any more."""

from __future__ import annotations

import re

from tests.layout import ROOT

_CELL = re.compile(r"`(tests/[\w/]+\.py)?::(\w+)")


def named_tests() -> list[tuple[str, str]]:
    """(file, test) for every `tests/F.py::test` in the README; `::test` means the file
    named before it on the same line."""
    found = []
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        file = ""
        for match in _CELL.finditer(line):
            file = match.group(1) or file
            found.append((file, match.group(2)))
    return found


def test_the_readme_names_tests() -> None:
    assert len(named_tests()) > 100


def test_every_test_the_readme_names_exists() -> None:
    missing = []
    for file, name in named_tests():
        path = ROOT / file if file else None
        text = path.read_text(encoding="utf-8") if path and path.is_file() else ""
        if not re.search(rf"^\s*(?:async )?def {name}\(", text, re.MULTILINE):
            missing.append(f"{file or '(no file)'}::{name}")
    assert missing == []
