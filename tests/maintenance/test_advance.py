"""`ticket advance`: steps strictly in order, each by its role (or recorded on behalf of an
official, with the scan), each with its evidence: step 4 a real `verify --probe local` run
of this machine under the ticket, step 7 its real pre and post snapshots and their stored
diff. On SQLite and on the real PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.core.paths import attachments_dir
from pelihara.inventory.db import transaction
from pelihara.inventory.models import AuditEntry
from pelihara.maintenance.gates import GATES, missing_evidence, not_available
from pelihara.maintenance.models import Ticket, TicketStep
from pelihara.maintenance.sop import EVIDENCE_KINDS
from pelihara.maintenance.sop_file import packaged_sop
from tests.maintenance.machine import ME, this_machine
from tests.maintenance.test_tickets import LETTER

OFFICIALS = """
[[people]]
name = "Dr. Andi Wijaya"
nip = "197505202000031002"
roles = ["kepala_dinas"]

[[people]]
name = "Sari Dewi"
nip = "198003152005012004"
roles = ["kepala_bidang"]
"""
ANDI = ("--on-behalf-of", "Dr. Andi Wijaya")
SARI = ("--on-behalf-of", "198003152005012004")  # a NIP names the person too


@pytest.fixture
def pelihara(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """`pelihara --db URL ARGS` as Budi (tim_data_center), this machine the OPD's server."""
    config = this_machine(db_url, factory, tmp_path, monkeypatch)
    config.write_text(config.read_text() + OFFICIALS, encoding="utf-8")

    def invoke(*args: str, actor: str = "") -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": actor}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    return invoke


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "disposisi.pdf"
    path.write_bytes(b"%PDF-1.4 signed on paper by the Kepala Dinas\n")
    return path


def _ticket(pelihara: Callable[..., Result]) -> str:
    result = pelihara("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
                      "--summary", "Ganti disk")  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _advance(pelihara: Callable[..., Result], ref: str, step: int, *more: str) -> Result:
    return pelihara("ticket", "advance", ref, "--step", str(step), *more)


def _to_step_4(pelihara: Callable[..., Result], ref: str, scan: Path) -> None:
    for step, official in ((2, ANDI), (3, SARI)):
        result = _advance(pelihara, ref, step, *official, "--attach", str(scan))
        assert result.exit_code == 0, result.output


def _recorded(factory: sessionmaker[Session], ref: str, *steps: int) -> None:
    """Steps whose gates are not built yet (5, 6, 8, 9), written as a done step is."""
    with transaction(factory) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        session.add_all(TicketStep(ticket_id=ticket.id, step=step, done_at=datetime.now(UTC),
                                   person_name="Budi Santoso", actor="test")
                        for step in steps)  # fmt: skip


def test_every_evidence_kind_has_a_gate_and_an_unbuilt_one_refuses_saying_why() -> None:
    assert set(GATES) == set(EVIDENCE_KINDS)
    unbuilt = not_available("report", "the Berita Acara report of the next issue")
    assert unbuilt(None, None, None) == [  # type: ignore[arg-type]
        "not available yet: report comes with the Berita Acara report of the next issue"
    ]


def test_steps_go_in_order_by_their_role_recorded_on_behalf_with_the_scan(
    pelihara: Callable[..., Result], factory: sessionmaker[Session], scan: Path
) -> None:
    ref = _ticket(pelihara)
    result = _advance(pelihara, ref, 3)
    assert result.exit_code == 2
    assert "step 3 (" in result.output and "waits for step 2" in result.output
    result = _advance(pelihara, ref, 2)
    assert result.exit_code == 2 and "role kepala_dinas" in result.output
    assert "Budi Santoso holds tim_data_center" in result.output
    result = pelihara("ticket", "advance", ref, "--step", "2", actor="Dr. Andi Wijaya")
    assert result.exit_code == 2 and "--actor" in result.output
    result = _advance(pelihara, ref, 2, *ANDI)
    assert result.exit_code == 2 and "--attach SCAN" in result.output
    result = _advance(pelihara, ref, 2, *SARI, "--attach", str(scan))
    assert result.exit_code == 2 and "kepala_dinas" in result.output
    assert _advance(pelihara, "2026/0999", 2).exit_code == 7
    result = _advance(pelihara, ref, 2, *ANDI, "--attach", str(scan), "--note", "disetujui")
    assert result.exit_code == 0, result.output
    result = _advance(pelihara, ref, 2, *ANDI, "--attach", str(scan))
    assert result.exit_code == 2 and "already done" in result.output
    digest = hashlib.sha256(scan.read_bytes()).hexdigest()
    assert (attachments_dir() / digest).read_bytes() == scan.read_bytes()
    with transaction(factory, commit=False) as session:
        row = session.scalars(select(TicketStep).where(TicketStep.step == 2)).one()
        assert (row.person_name, row.on_behalf_of_name, row.on_behalf_of_nip) == (
            "Budi Santoso", "Dr. Andi Wijaya", "197505202000031002")  # fmt: skip
        assert (row.attachments, row.note) == (digest, "disetujui")
        entries = list(session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "ticket", AuditEntry.action == "advance")))  # fmt: skip
        assert len(entries) == 1 and entries[0].actor == "Budi Santoso"
        assert entries[0].after is not None
        assert entries[0].after["on_behalf_of"] == "Dr. Andi Wijaya"
        assert entries[0].after["attachments"] == [digest]
    assert pelihara("audit", "verify").exit_code == 0


def test_step_4_needs_a_verification_run_of_the_tickets_servers(
    pelihara: Callable[..., Result], scan: Path
) -> None:
    ref = _ticket(pelihara)
    _to_step_4(pelihara, ref, scan)
    result = _advance(pelihara, ref, 4)
    assert result.exit_code == 3
    assert f"{ME}: no verification run of ticket {ref} looked at it" in result.output
    run = pelihara("verify", "run", ME, "--probe", "local", "--ticket", "2025/0001-free")
    assert run.exit_code in (0, 1), run.output  # another reference is no evidence
    assert _advance(pelihara, ref, 4).exit_code == 3
    run = pelihara("verify", "run", ME, "--probe", "local", "--ticket", ref)
    assert run.exit_code in (0, 1), run.output  # mismatches do not block the step
    result = _advance(pelihara, ref, 4, "--note", "terverifikasi")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{ref}: step 4 done"


def test_step_5_after_a_real_verification_asks_for_the_completeness_form(
    pelihara: Callable[..., Result], scan: Path
) -> None:
    ref = _ticket(pelihara)
    _to_step_4(pelihara, ref, scan)
    assert pelihara("verify", "run", ME, "--probe", "local", "--ticket", ref).exit_code in (0, 1)
    assert _advance(pelihara, ref, 4).exit_code == 0
    result = _advance(pelihara, ref, 5)
    assert result.exit_code == 3
    assert f"completeness form not confirmed by the OPD: ticket advance {ref} --step 5 " \
           "--confirmed-by NAME" in result.output  # fmt: skip


def test_step_7_needs_pre_and_post_snapshots_and_their_stored_diff_then_the_ticket_closes(
    pelihara: Callable[..., Result], factory: sessionmaker[Session], scan: Path
) -> None:
    ref = _ticket(pelihara)
    _to_step_4(pelihara, ref, scan)
    _recorded(factory, ref, 4, 5, 6)
    result = _advance(pelihara, ref, 7)
    assert result.exit_code == 3
    assert f"{ME}: no pre snapshot under ticket {ref}" in result.output
    assert f"{ME}: no post snapshot under ticket {ref}" in result.output
    for phase in ("pre", "post"):
        taken = pelihara("snapshot", "take", ME, "--probe", "local", "--ticket", ref,
                         "--phase", phase)  # fmt: skip
        assert taken.exit_code == 0, taken.output
    result = _advance(pelihara, ref, 7)
    assert result.exit_code == 3
    assert f"{ME}: no stored diff of its snapshots under ticket {ref}" in result.output
    assert "pre snapshot" not in result.output
    diffed = pelihara("snapshot", "diff", "--ticket", ref)
    assert diffed.exit_code in (0, 1), diffed.output
    assert _advance(pelihara, ref, 7).exit_code == 0
    _recorded(factory, ref, 8, 9)
    assert _advance(pelihara, ref, 10, *SARI, "--attach", str(scan)).exit_code == 0
    assert _advance(pelihara, ref, 11, *ANDI, "--attach", str(scan)).exit_code == 0
    result = _advance(pelihara, ref, 12, *ANDI, "--attach", str(scan))
    assert result.exit_code == 0 and "(ticket closed)" in result.output
    assert len(list(attachments_dir().iterdir())) == 1  # the same scan, stored once
    with transaction(factory, commit=False) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        assert ticket.status == "done" and ticket.closed_at is not None
        assert missing_evidence(session, ticket, packaged_sop().step(7)) == []
        close = session.scalars(select(AuditEntry).where(AuditEntry.action == "close")).one()
        assert close.before == {"status": "open", "closed_at": None}
    result = _advance(pelihara, ref, 12, *ANDI, "--attach", str(scan))
    assert result.exit_code == 2 and f"ticket {ref} is done" in result.output
    assert pelihara("audit", "verify").exit_code == 0
