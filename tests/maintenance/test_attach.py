"""`ticket attach`: photos and scans kept once by their SHA-256 in the data directory, one
`attachment` record (and audit entry) per file and step; the same content twice is one file
and one record; a missing or unreadable file refuses them all, recording nothing. On SQLite
and on the real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.paths import attachments_dir
from pelihara.inventory.db import transaction
from pelihara.maintenance.actor import NotAllowedError
from pelihara.maintenance.attach import check_attacher
from pelihara.maintenance.models import Ticket
from pelihara.maintenance.people import Person
from tests.maintenance.test_evidence import Pelihara, audited, open_at, pelihara, records

__all__ = ["pelihara"]  # the fixture


def _files(tmp_path: Path) -> tuple[Path, Path]:
    rack, disk = tmp_path / "foto-rak.jpg", tmp_path / "scan-disk.pdf"
    rack.write_bytes(b"\xff\xd8\xff the rack, before")
    disk.write_bytes(b"%PDF-1.4 the disk's serial label")
    return rack, disk


def attach(pelihara: Pelihara, ref: str, step: int, *more: str) -> list[str]:
    result = pelihara("ticket", "attach", ref, *more, "--step", str(step))
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_files_are_stored_once_and_recorded_once_per_step(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_at(pelihara, factory, 5)
    rack, disk = _files(tmp_path)
    rack_hash = hashlib.sha256(rack.read_bytes()).hexdigest()
    lines = attach(pelihara, ref, 7, str(rack), str(disk), "--note", "sebelum")
    assert lines[0] == f"{ref}: foto-rak.jpg attached to step 7 (sha256 {rack_hash[:12]})"
    copy = tmp_path / "sama.jpg"
    copy.write_bytes(rack.read_bytes())  # the same content under another name
    lines = attach(pelihara, ref, 7, str(rack), str(copy))
    short = rack_hash[:12]
    assert lines == [f"{ref}: foto-rak.jpg already attached to step 7 (sha256 {short})",
                     f"{ref}: sama.jpg already attached to step 7 (sha256 {short})"]  # fmt: skip
    lines = attach(pelihara, ref, 8, str(rack))
    assert lines == [f"{ref}: foto-rak.jpg attached to step 8 (sha256 {short})"]
    stored = sorted(path.name for path in attachments_dir().iterdir())
    assert stored == sorted([rack_hash, hashlib.sha256(disk.read_bytes()).hexdigest()])
    assert (attachments_dir() / rack_hash).read_bytes() == rack.read_bytes()
    found = records(factory, "attachment")
    assert [(r["step"], r["sha256"]) for r in found][::2] == [(7, rack_hash), (8, rack_hash)]
    assert len(found) == 3
    first = {"name": "foto-rak.jpg", "size": rack.stat().st_size, "media_type": "image/jpeg",
             "note": "sebelum"}  # fmt: skip
    assert json.loads(found[0]["data"]) == first
    assert json.loads(found[1]["data"])["media_type"] == "application/pdf"
    assert [entry["sha256"] for entry in audited(factory)] == [r["sha256"] for r in found]
    assert pelihara("audit", "verify").exit_code == 0


def test_a_missing_or_unreadable_file_refuses_them_all(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_at(pelihara, factory, 5)
    rack, _ = _files(tmp_path)
    result = pelihara("ticket", "attach", ref, str(rack), str(tmp_path / "hilang.jpg"),
                      "--step", "7")  # fmt: skip
    assert result.exit_code == 7
    assert f"{tmp_path / 'hilang.jpg'}: no such file; nothing was recorded" in result.output
    result = pelihara("ticket", "attach", ref, str(rack), str(tmp_path), "--step", "7")
    assert result.exit_code == 3 and f"{tmp_path}: cannot be read" in result.output
    assert records(factory) == [] and list(attachments_dir().iterdir()) == []


def test_the_ticket_and_step_must_exist_and_the_ticket_be_open(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_at(pelihara, factory, 5)
    rack, _ = _files(tmp_path)
    result = pelihara("ticket", "attach", ref, str(rack), "--step", "13")
    assert result.exit_code == 2 and "no step 13 in SOP" in result.output
    assert pelihara("ticket", "attach", "2026/0999", str(rack), "--step", "7").exit_code == 7
    with transaction(factory) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        ticket.status = "done"
    result = pelihara("ticket", "attach", ref, str(rack), "--step", "7")
    assert result.exit_code == 2 and "takes no more files" in result.output
    assert records(factory) == [] and list(attachments_dir().iterdir()) == []


def test_only_the_data_centers_side_attaches() -> None:
    contact = Person(name="Rina Marlina", roles=("opd",), opd="Dinas Uji")
    try:
        check_attacher(contact)
    except NotAllowedError as refused:
        assert "Rina Marlina holds opd" in str(refused)
        assert "(tim_data_center)" in str(refused)
    else:
        raise AssertionError("an OPD contact attached a file")
    check_attacher(Person(name="Sari Dewi", nip="198003152005012004", roles=("kepala_bidang",)))
