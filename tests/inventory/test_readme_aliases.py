"""The README's table of Indonesian column names is the code's table, so the README cannot
promise a header that import refuses, or leave out one it accepts."""

from __future__ import annotations

import re

from pelihara.inventory.aliases import (
    COMPONENT_ALIASES,
    COMPONENT_STATUS_ALIASES,
    HEADER_ALIASES,
    KIND_ALIASES,
)
from tests.layout import ROOT


def _section(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    return text[start : text.index("\n### ", start + 1)]


def readme_aliases(heading: str = "### Indonesian column names") -> dict[str, tuple[str, ...]]:
    section = _section(heading)
    table = section[section.index("| column | Indonesian header names |") :].split("\n\n")[0]
    found: dict[str, tuple[str, ...]] = {}
    for line in table.splitlines()[2:]:
        column, names = (cell.strip() for cell in line.strip("|").split("|"))
        if column.startswith("`"):
            found[column.strip("`")] = tuple(re.findall(r"`([^`]+)`", names))
    return found


def test_the_readme_lists_exactly_the_aliases_import_accepts() -> None:
    assert readme_aliases() == HEADER_ALIASES


def test_the_readme_lists_exactly_the_component_aliases_import_accepts() -> None:
    assert readme_aliases("### Components") == COMPONENT_ALIASES


def test_the_readme_names_every_indonesian_kind_and_status_of_a_component() -> None:
    section = _section("### Components")
    for word in [*KIND_ALIASES, *COMPONENT_STATUS_ALIASES]:
        assert f"`{word}`" in section.lower(), word
