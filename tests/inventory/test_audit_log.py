"""`pelihara audit log` as a person reads it: what an update changed, a server's verify runs
with its changes, an empty result said in words, a limit that makes sense."""

from __future__ import annotations

import json
import socket

from pelihara.inventory.audit import changed_fields

ME = socket.gethostname().split(".")[0].lower()


def test_an_update_shows_what_changed(run, write) -> None:
    header = "hostname,ip,domain,opd,status,os"
    first = write("a.csv", f"{header}\n{ME},127.0.0.1,me.uji.lab,Dinas Uji,active,Debian 12\n")
    again = write("b.csv", f"{header}\n{ME},127.0.0.1,me.uji.lab,Dinas Uji,maintenance,Debian 13\n")
    assert run("inventory", "import", str(first)).exit_code == 0
    assert run("inventory", "import", str(again)).exit_code == 0
    result = run("audit", "log", "--limit", "1")
    assert result.exit_code == 0
    assert "what changed" in result.stdout
    assert "os: Debian 12 -> Debian 13; status: active -> maintenance" in result.stdout
    assert "WIB" in result.stdout  # the time, in the data center's zone


def test_key_host_shows_the_servers_verify_runs_too(run, write) -> None:
    rows = f"hostname,ip,domain,opd\n{ME},127.0.0.1,me.uji.lab,Dinas Uji\n"
    rows += "web02,10.99.0.2,web02.uji.lab,Dinas Uji\n"
    assert run("inventory", "import", str(write("s.csv", rows))).exit_code == 0
    assert run("verify", ME, "--probe", "local", "--ticket", "2026/041").exit_code in (0, 1)
    entries = json.loads(run("audit", "log", "--key", ME, "--format", "json").stdout)
    assert [(e["action"], e["entity"], e["key"]) for e in entries] == [
        ("verify", "verify_run", "1"),
        ("create", "server", ME),
    ]
    other = json.loads(run("audit", "log", "--key", "web02", "--format", "json").stdout)
    assert [e["entity"] for e in other] == ["server"]  # another server's log: not the run
    table = run("audit", "log", "--key", ME).stdout
    assert "1/1 hosts, exit status" in table and "ticket 2026/041" in table


def test_an_empty_result_says_so_and_the_limit_must_be_positive(run) -> None:
    empty = run("audit", "log", "--key", "no-such-host")
    assert empty.exit_code == 0 and empty.stderr == "no audit entries about no-such-host\n"
    assert run("audit", "log").stderr == "no audit entries\n"
    for limit in ("0", "-3"):
        result = run("audit", "log", "--limit", limit)
        assert result.exit_code == 2 and "--limit" in result.stderr


def test_changed_fields_keeps_the_order_and_new_fields() -> None:
    before = {"status": "active", "ip": ["10.0.0.1"], "os": "Debian 12"}
    after = {"status": "active", "ip": ["10.0.0.1", "10.0.0.2"], "os": "Debian 12", "x": 1}
    assert changed_fields(before, after) == {
        "ip": (["10.0.0.1"], ["10.0.0.1", "10.0.0.2"]),
        "x": (None, 1),
    }
    assert changed_fields(None, after) == {}
