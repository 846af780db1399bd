"""Tables a person reads on a terminal: hostnames, addresses and domains are never cut ("…"),
other columns wrap or are left out first (and named), `--wide` shows everything; times in
the data center's zone."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import pelihara.cli.output
from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.cli.output import fit_columns, print_table, shown_time
from pelihara.collector.models import VerifyFinding, VerifyRun
from pelihara.core.config import load_config
from pelihara.core.errors import ConfigurationError
from pelihara.core.times import display_zone, iso_text, local_text
from pelihara.inventory.db import make_engine, session_factory

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "inventory.csv"
LONG_DOMAIN = "sistem-informasi-manajemen-kepegawaian.bkpsdm.kotacontoh.go.id"
SERVICE_DOMAIN = "simpeg-backup.bkpsdm.kotacontoh.go.id"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """print_table's console: a terminal 100 columns wide, its output in a buffer."""
    screen = io.StringIO()
    monkeypatch.setattr(
        pelihara.cli.output, "console", lambda stderr=False: Console(file=screen, width=100)
    )
    yield screen


def _stored_run(tmp_path: Path) -> str:
    """A database holding verify run 1 with long names, domains and messages."""
    url = f"sqlite:///{tmp_path / 'pelihara.db'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    findings = [
        ("disdukcapil-siak-db01", "dns.forward", SERVICE_DOMAIN, "10.20.250.114",
         "the domain resolves to an address the inventory does not have for it"),
        ("dinkes-web01", "ip", "2001:db8:20::1:53", "", "the address is not on the host; "
         "another machine may answer on it"),
    ]  # fmt: skip
    with session_factory(engine)() as session:
        run = VerifyRun(actor="budi", ticket="2026/041", probes="ssh", hosts_total=2,
                        hosts_done=2, exit_status=1)  # fmt: skip
        session.add(run)
        session.flush()
        for host, check, expected, observed, message in findings:
            session.add(VerifyFinding(run_id=run.id, host=host, check=check, source="ssh",
                                      status="mismatch", severity="warning", expected=expected,
                                      observed=observed, message=message))  # fmt: skip
        session.commit()
    engine.dispose()
    return url


def test_a_100_column_terminal_never_cuts_a_host_address_or_domain(terminal, tmp_path) -> None:
    result = CliRunner().invoke(cli, ["--db", _stored_run(tmp_path), "verify", "show", "1"])
    assert result.exit_code == 0, result.output
    shown = terminal.getvalue()
    assert "…" not in shown
    assert all(len(line) <= 100 for line in shown.splitlines())
    for whole in ("disdukcapil-siak-db01", SERVICE_DOMAIN, "2001:db8:20::1:53"):
        assert whole in shown, whole  # on one line, in one piece
    assert "(left out to fit 100 columns: source, severity, observed, message;" in shown


def test_columns_that_do_not_fit_are_left_out_and_named_never_the_names(terminal) -> None:
    columns = ("hostname", "ip", "domain", "opd", "site", "rack", "rack_unit", "status")
    row = ["bkpsdm-simpeg-app01", "10.20.17.11 10.20.250.17 2001:db8:17::11", SERVICE_DOMAIN,
           "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", "DC Utama", "R07", 12,
           "active"]  # fmt: skip
    print_table(columns, [row], drop=("rack_unit", "rack"))
    shown = terminal.getvalue()
    assert "…" not in shown and all(len(line) <= 100 for line in shown.splitlines())
    assert "bkpsdm-simpeg-app01" in shown and SERVICE_DOMAIN in shown and "2001:db8:17::11" in shown
    note = shown.strip().splitlines()[-1]
    assert note.startswith("(left out to fit 100 columns: ") and "--wide" in note
    assert "rack_unit" in note and "rack" in note  # the ones named to go first
    assert "hostname" not in note and "domain" not in note and "ip," not in note


def test_wide_shows_every_column_at_its_natural_width(terminal) -> None:
    columns = ("hostname", "domain", "opd", "site", "rack", "rack_unit", "status")
    row = ["bkpsdm-app01", LONG_DOMAIN, "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia",
           "DC Utama", "R07", 12, "maintenance"]  # fmt: skip
    with CliRunner().isolation():
        import click

        with click.Context(cli) as ctx:
            ctx.meta[pelihara.cli.output.WIDE] = True
            print_table(columns, [row])
    shown = terminal.getvalue()
    assert "left out" not in shown and "maintenance" in shown
    assert "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia" in shown  # one line
    assert max(len(line) for line in shown.splitlines()) > 100


def test_fitting_shares_the_room_and_keeps_every_word_whole() -> None:
    kept, widths = fit_columns([12, 40, 60], [12, 15, 10], 60, [2, 1])
    assert kept == [0, 1, 2] and widths is not None and sum(widths) <= 60 - 10
    assert widths[0] == 12 and widths[1] >= 15 and widths[2] >= 10
    assert fit_columns([12, 40, 60], [12, 40, 10], 40, [2, 1]) == ([0], None)
    assert fit_columns([12, 40], [12, 40], 20, []) == ([0, 1], [12, 40])  # past the edge
    # A column the caller names as optional goes when another would be squeezed below 20.
    assert fit_columns([10, 6, 60], [10, 6, 9], 40, [1]) == ([0, 1, 2], [10, 6, 14])
    assert fit_columns([10, 6, 60], [10, 6, 9], 40, [1], optional=1) == ([0, 2], [10, 23])


def _resize(fd: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))


def _on_a_terminal(argv: list[str], env: dict[str, str], columns: int) -> str:
    """What ARGV shows on a terminal COLUMNS wide (stdout on a pseudo-terminal)."""
    controller, terminal = pty.openpty()
    _resize(terminal, columns)
    process = subprocess.Popen(argv, env=env, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0, shown
    return re.sub(r"\x1b\[[0-9;]*m", "", shown.decode()).replace("\r\n", "\n")


def test_inventory_list_on_a_100_column_terminal_and_with_wide(tmp_path: Path) -> None:
    pelihara = str(Path(sys.executable).parent / "pelihara")
    env = {**os.environ, "PELIHARA_HOME": str(tmp_path), "PELIHARA_DB": "", "TERM": "xterm",
           "COLUMNS": "100"}  # fmt: skip
    for setup in (["init"], ["inventory", "import", str(EXAMPLE)]):
        subprocess.run([pelihara, *setup], env=env, check=True, capture_output=True)
    shown = _on_a_terminal([pelihara, "inventory", "list"], env, 100)
    lines = shown.splitlines()
    assert "…" not in shown and all(len(line) <= 100 for line in lines)
    for whole in ("disdukcapil-app01", "siak.disdukcapil.kotacontoh.go.id", "10.20.250.14"):
        assert whole in shown
    assert "(left out to fit 100 columns:" in shown and "status" in shown.split("left out")[1]
    wide = _on_a_terminal([pelihara, "inventory", "list", "--wide"], env, 100)
    assert ("left out" not in wide and "maintenance" in wide) or "active" in wide
    assert "rack_unit" in wide and max(len(line) for line in wide.splitlines()) > 100


def test_times_are_shown_in_the_zone_configured_and_named(tmp_path: Path) -> None:
    moment = datetime(2026, 3, 4, 3, 15, 2, 500, tzinfo=UTC)
    assert shown_time(moment, display_zone(load_config(tmp_path / "none.toml"))) == (
        "2026-03-04 10:15:02 WIB"
    )
    config = tmp_path / "pelihara.toml"
    config.write_text('[display]\ntime_zone = "Asia/Jayapura"\n', encoding="utf-8")
    assert local_text(moment, display_zone(load_config(config))) == "2026-03-04 12:15:02 WIT"
    assert local_text(moment.replace(tzinfo=None), display_zone(load_config(config))).endswith(
        "12:15:02 WIT"
    )  # naive times are UTC, as SQLite hands them back
    assert iso_text(moment) == "2026-03-04T03:15:02.000500Z"
    config.write_text('[display]\ntime_zone = "Asia/Bandung"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"time_zone 'Asia/Bandung' is not a time zone"):
        display_zone(load_config(config))


def test_a_wrong_time_zone_stops_a_command_with_status_2(tmp_path: Path) -> None:
    (tmp_path / "pelihara.toml").write_text('[display]\ntime_zone = "WIB"\n', encoding="utf-8")
    env = {"PELIHARA_HOME": str(tmp_path), "PELIHARA_DB": ""}
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    (tmp_path / "one.csv").write_text(
        "hostname,ip,domain,opd\nweb01,10.0.0.1,web01.uji.lab,Dinas Uji\n", encoding="utf-8"
    )
    assert CliRunner().invoke(cli, ["inventory", "import", str(tmp_path / "one.csv")],
                              env=env).exit_code == 0  # fmt: skip
    result = CliRunner().invoke(cli, ["audit", "log"], env=env)
    assert result.exit_code == 2 and "time_zone 'WIB' is not a time zone" in result.stderr
