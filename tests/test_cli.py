"""The command line: help for every command, init, and errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pelihara.cli.main import cli
from pelihara.cli.output import print_table


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "pelihara")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_init_creates_then_reports_up_to_date(tmp_path: Path) -> None:
    env = {"PELIHARA_HOME": str(tmp_path / "home"), "PELIHARA_DB": ""}
    first = CliRunner().invoke(cli, ["init"], env=env)
    assert first.exit_code == 0 and "created" in first.output
    assert (tmp_path / "home" / "pelihara.db").exists()
    again = CliRunner().invoke(cli, ["init"], env=env)
    assert "up to date" in again.output


def test_command_before_init_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/x.db", "inventory", "list"])
    assert result.exit_code == 6
    assert f"the database {tmp_path}/x.db is not initialised: run `pelihara init`" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unreachable_database_hides_password() -> None:
    url = "postgresql://dc:s3cret@127.0.0.1:1/inventory"
    result = CliRunner().invoke(cli, ["--db", url, "inventory", "list"])
    assert result.exit_code == 6
    assert "s3cret" not in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_unexpected_error_is_one_line_and_status_70(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last resort: a bug (forced here) is one line naming the command, the exception and
    the place in pelihara's code, with exit status 70 (EX_SOFTWARE); `--traceback` shows it."""
    import pelihara.cli.inventory

    env = {"PELIHARA_HOME": str(tmp_path), "PELIHARA_DB": ""}
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("hostname")

    monkeypatch.setattr(pelihara.cli.inventory, "list_records", broken)
    result = CliRunner().invoke(cli, ["inventory", "list"], env=env)
    assert result.exit_code == 70
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "`cli inventory list` failed unexpectedly" in result.stderr
    assert "KeyError: 'hostname'" in result.stderr
    assert "pelihara.cli.inventory.list_" in result.stderr and "--traceback" in result.stderr

    traced = CliRunner().invoke(cli, ["--traceback", "inventory", "list"], env=env)
    assert traced.exit_code == 70
    assert "Traceback (most recent call last)" in traced.stderr and "in broken" in traced.stderr


def test_python_dash_m_pelihara_is_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pelihara", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("pelihara, version ")


def test_verify_help_shows_the_options_of_the_scan() -> None:
    """`verify HOST...` is `verify run HOST...`: `verify --help` says so and lists run's options."""
    result = CliRunner().invoke(cli, ["verify", "--help"])
    assert result.exit_code == 0
    assert "`pelihara verify run HOST...`" in result.output
    for option in ("--probe", "--all", "--opd", "--format", "--trust-new-host-keys", "--timeout"):
        assert option in result.output, option
    assert "Commands:" in result.output and "show" in result.output


def test_tables_without_rich_are_plain_aligned_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The agent's single file carries no rich: print_table falls back to plain text."""
    for name in ("rich", "rich.markup", "rich.table"):
        monkeypatch.setitem(sys.modules, name, None)  # `import rich.table` raises ImportError
    rows = [("sda", 256.0, ["/", "/boot"]), ("nvme0n1", None, [])]
    assert print_table(("disk", "size", "mounts"), rows, title="Disks") == 2
    assert capsys.readouterr().out.splitlines() == [
        "Disks",
        "disk     size  mounts",
        "-------  ----  -------",
        "sda      256   / /boot",
        "nvme0n1",
        "",
    ]
