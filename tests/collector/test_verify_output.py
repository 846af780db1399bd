"""What `pelihara verify` tells a person: which servers it takes, the run's header, the
verdict in words, and `verify list` with its filters. The `local` probe (this machine, no
network) is enough for all of it."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.collector.findings import verdict_words
from pelihara.collector.probes.base import Target
from pelihara.collector.probes.local import is_this_machine
from pelihara.inventory.db import make_engine, session_factory
from pelihara.inventory.importer import import_file

ME = socket.gethostname().split(".")[0].lower()
ROWS = (
    "hostname,ip,domain,opd,status,memory_gb\n"
    f"{ME},127.0.0.1,me.uji.lab,Dinas Uji,active,\n"
    "other-web01,10.99.0.1,other.uji.lab,Dinas Uji,active,\n"
    "old-db01,10.99.0.2,old.uji.lab,Dinas Uji,withdrawn,\n"
)


@pytest.fixture
def pelihara(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`pelihara --db URL --actor budi ARGS...` on a database holding this machine, another
    server and a withdrawn one."""
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'pelihara.db'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    (tmp_path / "servers.csv").write_text(ROWS, encoding="utf-8")
    import_file(session_factory(engine), tmp_path / "servers.csv", "tester")
    engine.dispose()

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", url, "--actor", "budi", *args])

    return invoke


@pytest.mark.parametrize(
    "args",
    [(ME, "--all"), (ME, "--opd", "uji"), ("--all", "--opd", "uji")],
    ids=["host+all", "host+opd", "all+opd"],
)
def test_conflicting_selections_are_a_usage_error(pelihara, args) -> None:
    result = pelihara("verify", *args, "--probe", "local")
    assert result.exit_code == 2
    assert "Usage:" in result.stderr and "together" in result.stderr
    assert "verify run" not in pelihara("verify", "list").output  # nothing was run


def test_the_local_probe_refuses_another_machine(pelihara) -> None:
    result = pelihara("verify", "other-web01", "--probe", "local")
    assert result.exit_code == 2
    assert f"--probe local reads this machine ({ME}) only" in result.stderr
    assert "other-web01 is another server" in result.stderr
    mixed = pelihara("verify", "--opd", "uji", "--probe", "local")  # this machine and another
    assert mixed.exit_code == 2 and "other-web01" in mixed.stderr


def test_this_machine_is_known_by_name_or_by_an_address_of_its_own() -> None:
    assert is_this_machine(Target(ME, "x.lab", ("10.99.0.9",)))
    assert is_this_machine(Target("renamed", "x.lab", ("127.0.0.1",)))
    assert not is_this_machine(Target("elsewhere", "x.lab", ("192.0.2.1",)))


def test_withdrawn_servers_are_left_out_unless_asked_for(pelihara) -> None:
    result = pelihara("verify", "--opd", "uji", "--probe", "dns", "--resolver", "127.0.0.1:9",
                      "--timeout", "0.2")  # fmt: skip
    assert "left out, withdrawn: old-db01 (--include-withdrawn" in result.stderr
    assert "old-db01" not in result.stdout and "other-web01" in result.stdout
    named = pelihara("verify", "old-db01", "--probe", "dns", "--timeout", "0.2")
    assert named.exit_code == 2
    assert "old-db01 is withdrawn (--include-withdrawn" in named.stderr
    included = pelihara("verify", "old-db01", "--include-withdrawn", "--probe", "dns",
                        "--resolver", "127.0.0.1:9", "--timeout", "0.2")  # fmt: skip
    assert included.exit_code != 2 and "old-db01" in included.stdout


def test_the_table_names_run_time_actor_ticket_and_says_the_verdict(pelihara, tmp_path) -> None:
    (tmp_path / "pelihara.toml").write_text('[display]\ntime_zone = "Asia/Makassar"\n')
    result = pelihara("verify", ME, "--probe", "local", "--ticket", "2026/041")
    assert result.exit_code == 0, result.stdout + result.stderr
    header = next(line for line in result.stdout.splitlines() if "verify run 1" in line)
    assert (
        "by budi" in header
        and "ticket 2026/041" in header
        and header.rstrip().endswith("WITA, by budi, ticket 2026/041")
    )
    last = result.stdout.rstrip().splitlines()[-1]
    assert last == "run 1 done: 1/1 hosts; verdict: the host is as the inventory says " \
        "(exit status 0)"  # fmt: skip


def test_a_mismatch_is_said_in_words(pelihara, tmp_path) -> None:
    wrong = f"hostname,ip,domain,opd,memory_gb\n{ME},127.0.0.1,me.uji.lab,Dinas Uji,4096\n"
    (tmp_path / "wrong.csv").write_text(wrong, encoding="utf-8")
    assert pelihara("inventory", "import", str(tmp_path / "wrong.csv")).exit_code == 0
    result = pelihara("verify", ME, "--probe", "local")
    assert result.exit_code == 1
    last = result.stdout.rstrip().splitlines()[-1]
    assert last == f"run 1 done: 1/1 hosts; verdict: 1 not as the inventory says ({ME}) " \
        "(exit status 1)"  # fmt: skip


def test_verdicts_in_words_worst_first_naming_a_few_hosts() -> None:
    verdicts = {f"web{i:02}": "unreachable" for i in range(7)}
    verdicts |= {"db01": "critical", "app01": "ok", "app02": "ok"}
    assert verdict_words(verdicts) == (
        "verdict: 1 CRITICAL, possibly another machine or a changed host key (db01); "
        "7 not reached by every source (web00, web01, web02, web03, web04 and 2 more); "
        "2 as the inventory says"
    )
    assert verdict_words({"a": "ok", "b": "ok"}) == "verdict: all 2 hosts are as the inventory says"
    assert verdict_words({}) == "verdict: no host was verified"


def test_verify_list_by_host_and_ticket_and_as_json(pelihara) -> None:
    assert pelihara("verify", ME, "--probe", "local", "--ticket", "2026/041").exit_code == 0
    assert pelihara("verify", ME, "--probe", "local").exit_code == 0
    dns = ("--probe", "dns", "--resolver", "127.0.0.1:9", "--timeout", "0.2")
    pelihara("verify", "other-web01", *dns)
    by_host = json.loads(pelihara("verify", "list", "--host", "127.0.0.1", "--format",
                                  "json").stdout)  # fmt: skip
    assert [run["run"] for run in by_host] == [2, 1]  # 127.0.0.1 is this machine's address
    by_ticket = json.loads(pelihara("verify", "list", "--ticket", "2026/041",
                                    "--format", "json").stdout)  # fmt: skip
    assert [run["run"] for run in by_ticket] == [1]
    started = datetime.fromisoformat(by_ticket[0]["started_at"])
    assert started.utcoffset() is not None and by_ticket[0]["started_at"].endswith("Z")
    table = pelihara("verify", "list", "--host", "other-web01")
    assert "WIB" in table.stdout and "│ 3 " in table.stdout and "│ 1 " not in table.stdout
    none = pelihara("verify", "list", "--ticket", "no-such")
    assert none.exit_code == 0 and "no verification runs match" in none.stderr
    assert pelihara("verify", "list", "--limit", "0").exit_code == 2
