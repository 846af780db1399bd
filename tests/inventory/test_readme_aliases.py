"""The README's table of Indonesian column names is the code's table, so the README cannot
promise a header that import refuses, or leave out one it accepts."""

from __future__ import annotations

import re

from pelihara.inventory.aliases import HEADER_ALIASES
from tests.layout import ROOT


def readme_aliases() -> dict[str, tuple[str, ...]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Indonesian column names") :]
    table = section[section.index("| column | Indonesian header names |") :].split("\n\n")[0]
    found: dict[str, tuple[str, ...]] = {}
    for line in table.splitlines()[2:]:
        column, names = (cell.strip() for cell in line.strip("|").split("|"))
        if column.startswith("`"):
            found[column.strip("`")] = tuple(re.findall(r"`([^`]+)`", names))
    return found


def test_the_readme_lists_exactly_the_aliases_import_accepts() -> None:
    assert readme_aliases() == HEADER_ALIASES
