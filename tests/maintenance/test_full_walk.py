"""A ticket walked through all 12 steps of *Pemeliharaan Server*, from the OPD's letter to
the Kepala Dinas' review, against the real test servers: step 4 a verification run over
the real OpenSSH sshd, step 7 pre and post snapshots over it and their stored diff, step 8
a component withdrawn from the inventory, step 9 the signed report. Every step through the
command line, as the DC team runs it, on SQLite and on the real PostgreSQL; at the end the
audit log proves every step, and the ticket is closed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import Component
from tests.maintenance.test_advance import OFFICIALS
from tests.maintenance.test_tickets import LETTER, _people
from tests.realservers.sshd import SshServer

HOST = "uji-web01"
DISK, PSU = "WD-UJI-0001", "PSU-UJI-0001"
CONTACT = """
[[people]]
name = "Rina Kartika"
roles = ["opd"]
opd = "Dinas Uji"
"""


@dataclass
class Walk:
    """The DC team's command line on this database, and where its files are."""

    run: Callable[..., Result]
    factory: sessionmaker[Session]
    files: Path

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, f"{args}: {result.output}"
        return result.output

    def step(self, ref: str, number: int, *more: str) -> str:
        return self.ok("ticket", "advance", ref, "--step", str(number), *more)

    def paper(self, name: str) -> str:
        path = self.files / name
        path.write_bytes(f"%PDF-1.4 {name}, signed on paper\n".encode())
        return str(path)


@pytest.fixture
def walk(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    sshd_server: SshServer,
) -> Walk:  # fmt: skip
    """HOST in the inventory at 127.0.0.1 on the real sshd, with a disk and a PSU; Budi
    (tim_data_center, who runs the tests), the officials and the OPD's contact configured."""
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    monkeypatch.setenv("PELIHARA_SSH_KEY_FILE", str(sshd_server.client_key_path))
    servers, parts = tmp_path / "inventory.csv", tmp_path / "components.csv"
    port = sshd_server.port
    servers.write_text("hostname,ip,domain,opd,ssh_port,ssh_user\n"
                       f"{HOST},127.0.0.1,{HOST}.uji.lab,Dinas Uji,{port},sshtest\n")  # fmt: skip
    parts.write_text("hostname,kind,model,serial,slot,status\n"
                     f"{HOST},disk,WD Red 4TB,{DISK},bay 0,installed\n"
                     f"{HOST},psu,Delta 550W,{PSU},PSU1,installed\n")  # fmt: skip
    import_file(factory, servers, "tester")
    config = _people(tmp_path, make_url(db_url).username or "postgres")
    config.write_text(config.read_text() + OFFICIALS + CONTACT, encoding="utf-8")
    known = ("--known-hosts", str(sshd_server.known_hosts_path))

    def run(*args: str) -> Result:
        argv = ["--db", db_url, *args]
        if args[0] in ("verify", "snapshot") and args[1] != "diff":
            argv += known
        return CliRunner().invoke(cli, argv, env={"PELIHARA_CONFIG": str(config)})

    walk = Walk(run, factory, tmp_path)
    walk.ok("inventory", "import-components", str(parts))
    return walk


def test_a_ticket_walks_all_twelve_steps_over_the_real_servers(walk: Walk) -> None:
    ref = walk.ok("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", HOST,
                  "--summary", "Ganti disk yang rusak").strip()  # fmt: skip
    walk.step(ref, 2, "--on-behalf-of", "Dr. Andi Wijaya", "--attach", walk.paper("kadis.pdf"))
    walk.step(ref, 3, "--on-behalf-of", "Sari Dewi", "--attach", walk.paper("kabid.pdf"))
    verified = walk.run("verify", "run", HOST, "--probe", "ssh", "--ticket", ref)
    assert verified.exit_code == 1, verified.output  # mismatches (its name is not HOST) ...
    assert "1/1 hosts" in verified.output
    walk.step(ref, 4, "--note", "nama host berbeda: dicatat")  # ... do not block step 4
    walk.step(ref, 5, "--confirmed-by", "Rina Kartika")
    walk.step(ref, 6, "--announced-to", "pengguna layanan Dinas Uji", "--channel", "surat")
    for phase in ("pre", "post"):
        walk.ok("snapshot", "take", HOST, "--probe", "ssh", "--ticket", ref, "--phase", phase)
    diff = walk.run("snapshot", "diff", "--ticket", ref)
    assert diff.exit_code in (0, 1), diff.output  # 1: a change to look at (processes move)
    walk.step(ref, 7)
    walk.ok("ticket", "withdraw", ref, "--component", DISK, "--reason", "disk rusak, diganti")
    walk.step(ref, 8)
    walk.step(ref, 9, "--report", walk.paper("berita-acara.pdf"))
    walk.step(ref, 10, "--on-behalf-of", "Sari Dewi", "--attach", walk.paper("terima.pdf"))
    walk.step(ref, 11, "--on-behalf-of", "Dr. Andi Wijaya", "--attach", walk.paper("review.pdf"))
    assert "ticket closed" in walk.step(
        ref, 12, "--on-behalf-of", "Dr. Andi Wijaya", "--attach", walk.paper("review.pdf")
    )

    shown = json.loads(walk.ok("ticket", "show", ref, "--format", "json"))
    assert shown["status"] == "done"
    assert [s["step"] for s in shown["steps"] if s["done"]] == list(range(1, 13))
    with transaction(walk.factory, commit=False) as session:
        withdrawn = session.scalars(select(Component).where(Component.serial == DISK)).one()
        assert (withdrawn.status, withdrawn.withdrawn_at is not None) == ("withdrawn", True)
        kept = session.scalars(select(Component).where(Component.serial == PSU)).one()
        assert kept.status == "installed"
    assert "intact" in walk.ok("audit", "verify", "--state")
    assert walk.run("ticket", "advance", ref, "--step", "12").exit_code == 2  # closed
