"""`ticket withdraw` and the gate of step 8 (the withdrawal decision): the component marked
withdrawn with its audit entry and the ticket's record; the refusals; a disk that vanished
between a ticket's pre and post snapshots blocks step 8 until it is withdrawn. This machine
is the ticket's server (`--probe local`); on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.collector.diff_store import stored_diffs
from pelihara.collector.models import SnapshotRecord
from pelihara.collector.snapshot_store import store_snapshot
from pelihara.core.config import load_config
from pelihara.facts.model import Disk
from pelihara.facts.snapshot import snapshot_from_json
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.components import import_components
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import AuditEntry, Component
from pelihara.maintenance.advance import audited_step
from pelihara.maintenance.models import Ticket, TicketRecord, TicketStep
from pelihara.maintenance.people import load_people
from pelihara.maintenance.records import NewRecord, RecordedBy, add_record
from pelihara.maintenance.sop_file import packaged_sop
from pelihara.maintenance.withdrawal import withdrawal_decision
from tests.maintenance.machine import ME, this_machine
from tests.maintenance.test_tickets import LETTER

OTHER = "pltest-other"  # a server of the same OPD, not on the ticket
COLLEAGUE = """
[[people]]
name = "Rina Putri"
nip = "199002022015032001"
roles = ["tim_data_center"]
"""
DISK = "PLTEST-DISK-A"  # a disk of this machine in the inventory
STRANGER = "PLTEST-DISK-B"  # a disk the inventory never had
STEP_8 = packaged_sop().step(8)

Factory = sessionmaker[Session]
Pelihara = Callable[..., Result]


@pytest.fixture
def config(db_url: str, factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This machine (and OTHER) in the inventory with their disks; Budi and Rina of the Tim
    Data Center in pelihara.toml, Budi the one who runs the tests."""
    path = this_machine(db_url, factory, tmp_path, monkeypatch)
    path.write_text(path.read_text() + COLLEAGUE, encoding="utf-8")
    servers = tmp_path / "other.csv"
    servers.write_text(f"hostname,ip,domain,opd\n{OTHER},127.0.0.3,other.test.lab,Dinas Uji\n")
    import_file(factory, servers, "tester")
    parts = tmp_path / "components.csv"
    parts.write_text("hostname,kind,model,serial,slot,status\n"
                     f"{ME},disk,Samsung 860,{DISK},bay 2,installed\n"
                     f"{OTHER},disk,Samsung 860,PLTEST-DISK-O,bay 1,installed\n")  # fmt: skip
    import_components(factory, parts, "tester")
    return path


@pytest.fixture
def pelihara(db_url: str, config: Path) -> Pelihara:
    """`pelihara --db URL ARGS` as Budi (tim_data_center)."""

    def invoke(*args: str, actor: str = "") -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": actor}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    return invoke


@pytest.fixture
def ref(pelihara: Pelihara) -> str:
    """A ticket of Dinas Uji for this machine alone."""
    result = pelihara("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
                      "--summary", "Ganti disk")  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _withdraw(pelihara: Pelihara, ref: str, serial: str, *more: str) -> Result:
    return pelihara("ticket", "withdraw", ref, "--component", serial, "--reason", "rusak", *more)


@contextmanager
def _ticket(factory: Factory, ref: str) -> Iterator[tuple[Session, Ticket]]:
    with transaction(factory) as session:
        yield session, session.scalars(select(Ticket).where(Ticket.reference == ref)).one()


def _gate(factory: Factory, ref: str) -> list[str]:
    with _ticket(factory, ref) as (session, ticket):
        return withdrawal_decision(session, ticket, STEP_8)


def _no_withdrawal(factory: Factory, ref: str, config: Path) -> None:
    """The record `ticket advance --step 8 --no-withdrawal` adds (built in another branch)."""
    budi = load_people(load_config(config)).find("Budi Santoso")
    assert budi is not None
    with _ticket(factory, ref) as (session, ticket):
        log = AuditLog(session, budi.name)
        add_record(session, log, ticket, RecordedBy(budi, "test"),
                   NewRecord("no_withdrawal", 8, {}), datetime.now(UTC))  # fmt: skip


def _done(factory: Factory, ref: str, *steps: int) -> None:
    """Steps whose gates are tested elsewhere, written as a done step is: the row and its
    audit entry (so `audit verify --state` finds them as logged)."""
    with _ticket(factory, ref) as (session, ticket):
        log = AuditLog(session, "Budi Santoso")
        for step in steps:
            row = TicketStep(ticket_id=ticket.id, step=step, done_at=datetime.now(UTC),
                             person_name="Budi Santoso", actor="test")  # fmt: skip
            session.add(row)
            log.append("advance", "ticket", ticket.reference, None, audited_step(row))


def test_withdraw_marks_the_component_audits_it_and_records_it_on_the_ticket(
    pelihara: Pelihara, factory: Factory, ref: str
) -> None:
    result = _withdraw(pelihara, ref, DISK, "--taken-by", "Joko, PT Vendor")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"{ref}: disk {DISK} (bay 2) of {ME} withdrawn, taken "
                                     "by Joko, PT Vendor (reason: rusak)")  # fmt: skip
    with transaction(factory, commit=False) as session:
        part = session.scalars(select(Component).where(Component.serial == DISK)).one()
        assert part.status == "withdrawn" and part.withdrawn_at is not None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "withdraw")).one()
        assert (entry.entity, entry.entity_key, entry.actor) == ("component", DISK, "Budi Santoso")
        assert entry.before is not None and entry.after is not None
        assert (entry.before["status"], entry.after["status"]) == ("installed", "withdrawn")
        record = session.scalars(select(TicketRecord)).one()
        assert (record.kind, record.step, record.serial) == ("withdrawal", 8, DISK)
        assert json.loads(record.data) == {
            "reason": "rusak", "taken_by": "Joko, PT Vendor", "server": ME, "kind": "disk",
            "model": "Samsung 860", "slot": "bay 2"}  # fmt: skip
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "record")).one()
        assert audited.after is not None and audited.after["serial"] == DISK
    assert _gate(factory, ref) == []
    verified = pelihara("audit", "verify", "--state")
    assert verified.exit_code == 0, verified.output


def test_withdraw_on_behalf_of_a_colleague_keeps_both_names_and_the_scan(
    pelihara: Pelihara, factory: Factory, ref: str, tmp_path: Path
) -> None:
    scan = tmp_path / "penarikan.pdf"
    scan.write_bytes(b"%PDF-1.4 formulir penarikan perangkat, signed\n")
    result = _withdraw(pelihara, ref, DISK, "--on-behalf-of", "Rina Putri")
    assert result.exit_code == 2 and "--attach SCAN" in result.output
    result = _withdraw(pelihara, ref, DISK, "--on-behalf-of", "Rina Putri", "--attach", str(scan))
    assert result.exit_code == 0, result.output
    assert "taken by Rina Putri" in result.output
    assert "recorded by Budi Santoso on behalf of Rina Putri" in result.output
    with transaction(factory, commit=False) as session:
        record = session.scalars(select(TicketRecord)).one()
        assert (record.person_name, record.on_behalf_of_name) == ("Budi Santoso", "Rina Putri")
        assert record.sha256 == hashlib.sha256(scan.read_bytes()).hexdigest()


def test_withdraw_refuses_what_it_cannot_do_and_names_why(
    pelihara: Pelihara, factory: Factory, ref: str, config: Path
) -> None:
    result = _withdraw(pelihara, ref, "NO-SUCH-SERIAL")
    assert result.exit_code == 7
    assert "NO-SUCH-SERIAL" in result.output and f"({ME})" in result.output
    result = _withdraw(pelihara, ref, "PLTEST-DISK-O")
    assert result.exit_code == 2 and f"is on {OTHER}, not on a server of ticket" in result.output
    assert _withdraw(pelihara, "2026/0999", DISK).exit_code == 7
    result = pelihara("ticket", "withdraw", ref, "--component", DISK, "--reason", "rusak",
                      actor="Dr. Andi Wijaya")  # fmt: skip
    assert result.exit_code == 2 and "--actor" in result.output
    assert _withdraw(pelihara, ref, DISK).exit_code == 0
    result = _withdraw(pelihara, ref, DISK)
    assert result.exit_code == 2
    assert f"{DISK} of {ME} was already withdrawn" in result.output
    assert f"under ticket {ref}" in result.output
    config.write_text(config.read_text().replace('"tim_data_center"]\nos_user',
                                                 '"kepala_bidang"]\nos_user'))  # fmt: skip
    result = _withdraw(pelihara, ref, "PLTEST-DISK-O")
    assert result.exit_code == 2 and "role tim_data_center" in result.output
    with transaction(factory, commit=False) as session:  # nothing but the one withdrawal
        assert len(list(session.scalars(select(TicketRecord)))) == 1
        other = session.scalars(select(Component).where(Component.serial == "PLTEST-DISK-O"))
        assert other.one().status == "installed"


def test_withdraw_refuses_once_step_8_is_done_or_the_ticket_closed(
    pelihara: Pelihara, factory: Factory, ref: str
) -> None:
    _done(factory, ref, *range(2, 9))
    result = _withdraw(pelihara, ref, DISK)
    assert result.exit_code == 2 and f"of ticket {ref} is already done" in result.output
    with _ticket(factory, ref) as (_, ticket):
        ticket.status = "done"
    result = _withdraw(pelihara, ref, DISK)
    assert result.exit_code == 2 and f"ticket {ref} is done" in result.output
    with transaction(factory, commit=False) as session:
        part = session.scalars(select(Component).where(Component.serial == DISK)).one()
        assert part.status == "installed"


def test_the_gate_needs_one_decision_and_refuses_both(
    pelihara: Pelihara, factory: Factory, ref: str, config: Path
) -> None:
    missing = _gate(factory, ref)
    assert len(missing) == 1 and missing[0].startswith(f"no withdrawal decision on ticket {ref}")
    assert f"ticket advance {ref} --step 8 --no-withdrawal" in missing[0]
    _no_withdrawal(factory, ref, config)
    assert _gate(factory, ref) == []
    assert _withdraw(pelihara, ref, DISK).exit_code == 0
    missing = _gate(factory, ref)
    assert len(missing) == 1 and "a contradiction" in missing[0]
    assert "no device was withdrawn (by Budi Santoso" in missing[0] and DISK in missing[0]
    _done(factory, ref, *range(2, 8))
    result = pelihara("ticket", "advance", ref, "--step", "8")
    assert result.exit_code == 3 and "a contradiction" in result.output


def _vanishing_pair(pelihara: Pelihara, factory: Factory, ref: str) -> None:
    """A pre and a post snapshot of this machine under REF that differ by two disks, PRE
    holding DISK and STRANGER and POST neither, and their stored diff.

    The facts are this machine's own, read by a real `snapshot take --probe local` (under a
    free reference); the two disks are added to the pre side here (a disk cannot be pulled
    out of the test machine). Both are stored by `store_snapshot`, as `snapshot take` stores
    them, and diffed by `snapshot diff --ticket`, as a ticket's diffs are."""
    taken = pelihara("snapshot", "take", ME, "--probe", "local", "--ticket", "capture",
                     "--phase", "pre")  # fmt: skip
    assert taken.exit_code == 0, taken.output
    with transaction(factory) as session:
        row = session.scalars(select(SnapshotRecord)).one()
        real, server_id = snapshot_from_json(row.document), row.server_id
        disks = real.facts.disks or ()
        pulled = tuple(Disk(name, 480103981056, "Samsung 860", serial, mounts=())
                       for name, serial in (("sdy", DISK), ("sdz", STRANGER)))  # fmt: skip
        for phase, held, later in (("pre", disks + pulled, 0), ("post", disks, 60)):
            facts = dataclasses.replace(real.facts, disks=held)
            snapshot = dataclasses.replace(
                real,
                ticket=ref,
                phase=phase,
                facts=facts,
                taken_at=real.taken_at + timedelta(seconds=later),
            )
            store_snapshot(session, "tester", server_id, snapshot)
    diffed = pelihara("snapshot", "diff", "--ticket", ref)
    assert diffed.exit_code in (0, 1), diffed.output
    assert DISK in diffed.output


def test_a_disk_vanished_in_the_diff_blocks_step_8_until_it_is_withdrawn(
    pelihara: Pelihara, factory: Factory, ref: str, tmp_path: Path
) -> None:
    _vanishing_pair(pelihara, factory, ref)
    missing = _gate(factory, ref)
    with transaction(factory, commit=False) as session:
        (diff,) = stored_diffs(session, ref)
    vanished = f"vanished between the pre and post snapshots (diff {diff.id})"
    assert f"{ME}: disk {DISK} {vanished} without a withdrawal record: pelihara ticket " \
           f"withdraw {ref} --component {DISK} --reason TEXT" in missing  # fmt: skip
    assert any(f"{ME}: disk {STRANGER} {vanished} and is not in the inventory" in line
               for line in missing)  # fmt: skip
    _done(factory, ref, *range(2, 8))
    result = pelihara("ticket", "advance", ref, "--step", "8")
    assert result.exit_code == 3 and DISK in result.output and STRANGER in result.output
    assert _withdraw(pelihara, ref, DISK).exit_code == 0
    missing = _gate(factory, ref)
    assert len(missing) == 1 and STRANGER in missing[0] and DISK not in missing[0]
    parts = tmp_path / "stranger.csv"
    parts.write_text(f"hostname,kind,serial\n{ME},disk,{STRANGER}\n")
    import_components(factory, parts, "tester")
    assert _withdraw(pelihara, ref, STRANGER).exit_code == 0
    assert _gate(factory, ref) == []
    result = pelihara("ticket", "advance", ref, "--step", "8")
    assert result.exit_code == 0, result.output
    verified = pelihara("audit", "verify", "--state")
    assert verified.exit_code == 0, verified.output


def test_a_vanished_disk_blocks_step_8_even_with_the_decision_that_none_was_withdrawn(
    pelihara: Pelihara, factory: Factory, ref: str, config: Path
) -> None:
    _vanishing_pair(pelihara, factory, ref)
    _no_withdrawal(factory, ref, config)
    missing = _gate(factory, ref)
    assert len(missing) == 2 and not any("contradiction" in line for line in missing)
    assert f"{ME}: disk {DISK} vanished" in missing[0] and STRANGER in missing[1]
