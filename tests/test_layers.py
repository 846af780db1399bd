"""The rooms import only rooms drawn below them in DESIGN.md, never one on their own line.

    cli/
    maintenance/
    collector/
    agent/        inventory/
    timeseries/   facts/
    core/

Every `import pelihara.X` and `from pelihara.X import` counts, also inside functions and
under TYPE_CHECKING, and so does a lazy "pelihara.X.module:Name" registry string.
`migrations/` sees every package's models and stands outside the drawing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEVEL = {
    "core": 0,
    "timeseries": 1,
    "facts": 1,
    "agent": 2,
    "inventory": 2,
    "collector": 3,
    "maintenance": 4,
    "cli": 5,
}
REGISTRY = re.compile(r"^pelihara\.(\w+)\.[\w.]+:\w+$")


def imported_rooms(source: str) -> Iterator[tuple[int, str]]:
    """(line, room) for every pelihara room that SOURCE imports or names in a registry."""
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            names = [f"{module}.{a.name}" for a in node.names] if module == "pelihara" else [module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = REGISTRY.match(node.value)
            names = [f"pelihara.{found[1]}"] if found else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "pelihara" and len(parts) > 1 and parts[1] in LEVEL:
                yield node.lineno, parts[1]


def violations(room: str) -> list[str]:
    found = []
    for path in sorted((ROOT / room).rglob("*.py")):
        for line, other in imported_rooms(path.read_text(encoding="utf-8")):
            if other != room and LEVEL[other] >= LEVEL[room]:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {other}/")
    return found


@pytest.mark.parametrize("room", sorted(LEVEL))
def test_room_imports_only_rooms_below_it(room: str) -> None:
    assert violations(room) == []


def test_the_check_sees_lazy_imports_and_registry_strings() -> None:
    source = (
        "def f():\n    from pelihara.inventory.db import x\n"
        'REGISTRY = {"s": "pelihara.collector.probes.ssh:SshProbe"}\n'
        "from pelihara import agent\n"
    )
    assert sorted(room for _, room in imported_rooms(source)) == ["agent", "collector", "inventory"]
