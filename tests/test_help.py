"""Help that teaches on an 80-column terminal, the near command for a mistyped one, shell
completion, and the import's columns from the one column table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pelihara.cli.main import cli
from pelihara.inventory.fields import FIELDS
from tests.test_cli import _commands

PELIHARA = str(Path(sys.executable).parent / "pelihara")


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "pelihara")
def test_help_fits_80_columns(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80, env={"COLUMNS": "80"})
    assert result.exit_code == 0
    wide = [line for line in result.output.splitlines() if len(line) > 80]
    assert wide == [], "\n".join(wide)


def _groups(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    context = click.Context(group)
    found = [prefix]
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            found += _groups(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", _groups(cli), ids=lambda p: " ".join(p) or "pelihara")
def test_a_mistyped_command_names_the_near_one(path: tuple[str, ...], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pelihara.db'}"
    assert CliRunner().invoke(cli, ["--db", url, "init"]).exit_code == 0
    group = cli
    for name in path:
        found = group.get_command(click.Context(group), name)
        assert isinstance(found, click.Group)
        group = found
    name = next(n for n in group.list_commands(click.Context(group)) if len(n) > 3 and n != "run")
    typo = name[0] + name[2] + name[1] + name[3:]  # two letters swapped: `lsit`
    result = CliRunner().invoke(cli, ["--db", url, *path, typo])
    message = f"Did you mean {name!r}?"
    if path == ("verify",):  # `verify NAME` verifies the server NAME: none is, so it says
        message = f"or did you mean `pelihara verify {name}`?"
    assert message in result.stderr, result.stderr
    assert result.exit_code in (2, 6, 7)


def test_shell_completion_is_documented_and_works(tmp_path: Path) -> None:
    assert "_PELIHARA_COMPLETE=bash_source pelihara" in CliRunner().invoke(cli, ["--help"]).output
    env = {**os.environ, "PELIHARA_HOME": str(tmp_path)}
    script = subprocess.run([PELIHARA], env={**env, "_PELIHARA_COMPLETE": "bash_source"},
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert "complete -o nosort -F _pelihara_completion pelihara" in script.stdout
    asked_for = (("pelihara inv", "plain,inventory"), ("pelihara verify l", "plain,list"),
                 ("pelihara inventory li", "plain,list"))  # fmt: skip
    for words, expected in asked_for:
        asked = {**env, "_PELIHARA_COMPLETE": "bash_complete", "COMP_WORDS": words,
                 "COMP_CWORD": str(len(words.split()) - 1)}  # fmt: skip
        done = subprocess.run([PELIHARA], env=asked, capture_output=True, text=True, check=True)
        assert done.stdout.split() == [expected], words
    assert list(tmp_path.iterdir()) == []  # completing opens nothing


def test_import_help_lists_every_column_from_the_column_table() -> None:
    result = CliRunner().invoke(cli, ["inventory", "import", "--help"], terminal_width=80)
    text = " ".join(result.output.split())
    for_new = ", ".join(f.name for f in FIELDS if f.required and f.name != "hostname")
    others = ", ".join(f.name for f in FIELDS if not f.required)
    assert f"Required: hostname always; {for_new} for a new server." in text
    assert f"Other columns: {others}." in text
