"""The built wheel installs one import name, `pelihara`, and every module of every room.

Seven generic names (`cli`, `agent`, `inventory`, ...) in site-packages let another
distribution replace or delete pelihara's files; the rooms' folders are mapped under
`pelihara.` instead (pyproject.toml, [tool.setuptools]).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.layout import ROOMS, ROOT

SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the checkout (so the tree's build/ stays untouched)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "--disable-pip-version-check", "-w", str(work / "dist"), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = (work / "dist").glob("pelihara-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_installs_only_the_name_pelihara(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/")[0] for name in wheel.namelist()}
    (info,) = (name for name in top if name.endswith(".dist-info"))
    assert top - {info} == {"pelihara"}
    entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "pelihara = pelihara.cli.main:main" in entry_points


def test_wheel_holds_every_module_of_every_room(wheel: zipfile.ZipFile) -> None:
    packed = set(wheel.namelist())
    expected = {
        f"pelihara/{path.relative_to(ROOT).as_posix()}"
        for room in ROOMS
        for path in (ROOT / room).rglob("*")
        if path.suffix in {".py", ".mako", ".yaml"} and "__pycache__" not in path.parts
    }
    assert expected - packed == set()
    assert {"pelihara/__init__.py", "pelihara/py.typed", "pelihara/__main__.py"} <= packed
