"""The evidence `ticket advance` records with steps 5, 6, 8 and 9: the completeness form made
from the inventory and confirmed by a contact of the ticket's OPD, the announcement, the
no-withdrawal decision, the signed report; each gate refusing, naming what is missing, when
its evidence is not there; a refused step recording nothing and storing no file. On SQLite
and on the real PostgreSQL, this machine the ticket's server."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.core.canonical import sha256_hex
from pelihara.core.config import load_config
from pelihara.core.paths import attachments_dir
from pelihara.inventory.db import transaction
from pelihara.inventory.models import AuditEntry
from pelihara.maintenance.advance import Actor, Advance, GateError, advance_ticket
from pelihara.maintenance.forms import completeness_form
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.people import load_people
from pelihara.maintenance.sop import Sop
from pelihara.maintenance.sop_file import packaged_sop
from tests.maintenance.machine import ME, this_machine
from tests.maintenance.test_advance import OFFICIALS, _recorded
from tests.maintenance.test_tickets import LETTER

CONTACTS = """
[[people]]
name = "Rina Marlina"
roles = ["opd"]
opd = "dinas uji"

[[people]]
name = "Joko Susilo"
roles = ["opd"]
opd = "Dinas Lain"
"""
PARTS = f"""hostname,kind,model,serial,slot,status
{ME},psu,PWS-1K,PSU-B,PSU2,installed
{ME},disk,ST4000,DISK-2,bay 2,installed
{ME},disk,ST4000,DISK-1,bay 1,installed
"""
Pelihara = Callable[..., Result]


@pytest.fixture
def pelihara(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Pelihara:
    """`pelihara --db URL ARGS` as Budi (tim_data_center); this machine the server of Dinas
    Uji, with three parts; Rina a contact of Dinas Uji, Joko of another OPD."""
    config = this_machine(db_url, factory, tmp_path, monkeypatch)
    config.write_text(config.read_text() + OFFICIALS + CONTACTS, encoding="utf-8")
    parts = tmp_path / "parts.csv"
    parts.write_text(PARTS, encoding="utf-8")

    def invoke(*args: str) -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": ""}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    assert invoke("inventory", "import-components", str(parts)).exit_code == 0
    return invoke


def open_at(pelihara: Pelihara, factory: sessionmaker[Session], step: int) -> str:
    """A new ticket of this machine with steps 2 to STEP-1 done (written as a done step
    is): STEP is the next one."""
    result = pelihara("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
                      "--summary", "Ganti disk")  # fmt: skip
    assert result.exit_code == 0, result.output
    ref = result.output.strip()
    _recorded(factory, ref, *range(2, step))
    return ref


def advance(pelihara: Pelihara, ref: str, step: int, *more: str) -> Result:
    return pelihara("ticket", "advance", ref, "--step", str(step), *more)


def records(factory: sessionmaker[Session], kind: str | None = None) -> list[dict[str, Any]]:
    """Every ticket record (of KIND), as (kind, step, sha256, data, person)."""
    with transaction(factory, commit=False) as session:
        rows = session.scalars(select(TicketRecord).order_by(TicketRecord.id))
        return [{"kind": r.kind, "step": r.step, "sha256": r.sha256, "data": r.data,
                 "person": r.person_name} for r in rows if kind in (None, r.kind)]  # fmt: skip


def audited(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    """The `after` of every `record` audit entry of a ticket."""
    with transaction(factory, commit=False) as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "ticket", AuditEntry.action == "record"))  # fmt: skip
        return [dict(entry.after or {}) for entry in entries]


def test_step_5_needs_the_form_confirmed_by_a_contact_of_the_tickets_opd(
    pelihara: Pelihara, factory: sessionmaker[Session]
) -> None:
    ref = open_at(pelihara, factory, 5)
    result = advance(pelihara, ref, 5)
    assert result.exit_code == 3
    assert (f"  - completeness form not confirmed by the OPD: ticket advance {ref} --step 5 "
            "--confirmed-by NAME (a contact of Dinas Uji in pelihara.toml)"
            ) in result.output  # fmt: skip
    result = advance(pelihara, ref, 5, "--confirmed-by", "Joko Susilo")
    assert result.exit_code == 2
    assert "a contact of Dinas Lain, not of Dinas Uji" in result.output
    assert "Rina Marlina" in result.output  # who the contacts are
    result = advance(pelihara, ref, 5, "--confirmed-by", "Dr. Andi Wijaya")
    assert result.exit_code == 2 and "not an OPD contact" in result.output
    result = advance(pelihara, ref, 5, "--confirmed-by", "Nobody Here")
    assert result.exit_code == 2 and "no such person" in result.output
    assert records(factory) == []
    result = advance(pelihara, ref, 5, "--confirmed-by", "rina  marlina")
    assert result.exit_code == 0, result.output
    [record] = records(factory, "completeness_form")
    data = _json(record["data"])
    assert (data["confirmed_by"], data["confirmed_by_nip"], data["opd"]) == (
        "Rina Marlina", None, "Dinas Uji")  # fmt: skip
    assert record["sha256"] == sha256_hex(data["form"]) and record["step"] == 5
    [server] = data["form"]["servers"]
    assert server["hostname"] == ME and server["domain"] == f"{ME}.test.lab"
    assert [a["address"] for a in server["addresses"]] == ["127.0.0.1"]
    assert [(c["kind"], c["slot"], c["serial"]) for c in server["components"]] == [
        ("disk", "bay 1", "DISK-1"), ("disk", "bay 2", "DISK-2"), ("psu", "PSU2", "PSU-B"),
    ]  # fmt: skip
    assert audited(factory)[0]["data"] == data
    assert pelihara("audit", "verify").exit_code == 0


def test_the_form_is_the_inventory_now_and_stable(
    pelihara: Pelihara, factory: sessionmaker[Session]
) -> None:
    ref = open_at(pelihara, factory, 5)
    with transaction(factory, commit=False) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        first, again = completeness_form(session, ticket), completeness_form(session, ticket)
    assert first == again and sha256_hex(first) == sha256_hex(again)
    assert (first["ticket"], first["opd"]) == (ref, "Dinas Uji")
    fields = {"site", "rack", "rack_unit", "vendor", "model", "serial", "asset_tag",
              "components", "addresses"}  # fmt: skip
    assert set(first["servers"][0]) >= fields
    assert first["servers"][0]["components"][0] == {
        "kind": "disk", "model": "ST4000", "serial": "DISK-1", "slot": "bay 1",
        "status": "installed"}  # fmt: skip


def test_step_6_needs_the_announcement_to_whom_and_how(
    pelihara: Pelihara, factory: sessionmaker[Session]
) -> None:
    ref = open_at(pelihara, factory, 6)
    result = advance(pelihara, ref, 6)
    assert result.exit_code == 3
    told = result.output
    assert f"no announcement recorded: mail it with `pelihara announce {ref} --send`" in told
    assert f"ticket advance {ref} --step 6 --announced-to WHOM --channel TEXT" in result.output
    result = advance(pelihara, ref, 6, "--announced-to", "pengguna SIMPUS")
    assert result.exit_code == 2 and "--channel TEXT go together" in result.output
    result = advance(pelihara, ref, 6, "--announced-to", "pengguna  SIMPUS",
                     "--announced-to", "puskesmas", "--channel", "surat")  # fmt: skip
    assert result.exit_code == 0, result.output
    [record] = records(factory, "announcement")
    assert _json(record["data"]) == {"to": ["pengguna SIMPUS", "puskesmas"],
                                     "channel": "surat", "source": "recorded"}  # fmt: skip
    assert pelihara("audit", "verify").exit_code == 0


def test_an_option_with_another_step_is_refused_naming_the_step_it_goes_with(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_at(pelihara, factory, 5)
    report = tmp_path / "ba.pdf"
    report.write_bytes(b"%PDF berita acara")
    for option, goes_with in ((("--report", str(report)), "step 9 (the report"),
                              (("--no-withdrawal",), "step 8 (the withdrawal decision)"),
                              (("--announced-to", "x", "--channel", "y"),
                               "step 6 (the announcement)")):  # fmt: skip
        result = advance(pelihara, ref, 5, "--confirmed-by", "Rina Marlina", *option)
        assert result.exit_code == 2, result.output
        assert f"{option[0]} goes with {goes_with}" in result.output
        assert "not with step 5" in result.output
    ref6 = open_at(pelihara, factory, 6)
    result = advance(pelihara, ref6, 6, "--confirmed-by", "Rina Marlina")
    assert result.exit_code == 2 and "--confirmed-by goes with step 5" in result.output
    assert records(factory) == [] and list(attachments_dir().iterdir()) == []


def test_step_8_records_the_no_withdrawal_decision_only(
    pelihara: Pelihara, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = open_at(pelihara, factory, 8)
    result = advance(pelihara, ref, 8, "--no-withdrawal")
    assert result.exit_code == 0, result.output
    [record] = records(factory)
    assert (record["kind"], record["step"], _json(record["data"])) == ("no_withdrawal", 8, {})
    assert pelihara("audit", "verify").exit_code == 0


def test_step_9_needs_the_signed_report_stored_by_its_hash(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_at(pelihara, factory, 9)
    result = advance(pelihara, ref, 9)
    assert result.exit_code == 3
    assert "  - no report (Berita Acara): generate it with `pelihara report" in result.output
    assert "or give the one signed on paper with --report FILE" in result.output
    result = advance(pelihara, ref, 9, "--report", str(tmp_path / "absent.pdf"))
    assert result.exit_code == 7 and "absent.pdf: no such file" in result.output
    result = advance(pelihara, ref, 9, "--report", str(tmp_path))
    assert result.exit_code == 3 and "cannot be read" in result.output
    report = tmp_path / "berita-acara.pdf"
    report.write_bytes(b"%PDF-1.4 Berita Acara Pekerjaan, signed\n")
    result = advance(pelihara, ref, 9, "--report", str(report))
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert (attachments_dir() / digest).read_bytes() == report.read_bytes()
    [record] = records(factory, "report")
    assert record["sha256"] == digest and record["person"] == "Budi Santoso"
    assert _json(record["data"]) == {"name": "berita-acara.pdf", "size": report.stat().st_size,
                                     "source": "attached"}  # fmt: skip
    assert [entry["kind"] for entry in audited(factory)] == ["report"]
    assert pelihara("audit", "verify").exit_code == 0


def test_a_refused_gate_leaves_no_record_and_no_file_and_an_attachment_meets_its_gate(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A related SOP whose step 9 wants the report AND a file attached to it: the report's
    record and file do not survive the refusal; `ticket attach` meets the attachment gate."""
    ref = open_at(pelihara, factory, 9)
    report = tmp_path / "berita-acara.pdf"
    report.write_bytes(b"%PDF-1.4 Berita Acara Pekerjaan\n")
    sop = _sop_with(packaged_sop(), 9, ["report", "attachment"])
    with pytest.raises(GateError) as refused:
        _advance_9(factory, ref, sop, report, tmp_path)
    assert refused.value.missing == [
        f"no file attached to step 9: pelihara ticket attach {ref} FILE --step 9"
    ]
    assert records(factory) == [] and list(attachments_dir().iterdir()) == []
    photo = tmp_path / "foto.jpg"
    photo.write_bytes(b"\xff\xd8\xff photo of the signed form")
    assert pelihara("ticket", "attach", ref, str(photo), "--step", "9").exit_code == 0
    _advance_9(factory, ref, sop, report, tmp_path)
    assert [r["kind"] for r in records(factory)] == ["attachment", "report"]
    assert len(list(attachments_dir().iterdir())) == 2
    assert pelihara("audit", "verify").exit_code == 0


def _advance_9(factory: sessionmaker[Session], ref: str, sop: Sop, report: Path,
               tmp_path: Path) -> None:  # fmt: skip
    """Step 9 of REF under SOP, as `ticket advance --report REPORT` does it."""
    people = load_people(load_config(tmp_path / "pelihara.toml"))  # the fixture's
    budi = Actor(people.people[0], people, "test")
    with transaction(factory) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        advance_ticket(session, ticket, sop, budi, Advance(9, report=report),
                       datetime.now(UTC), attachments_dir())  # fmt: skip


def _sop_with(sop: Sop, number: int, evidence: list[str]) -> Sop:
    """SOP with step NUMBER's evidence replaced: a related SOP, as a data center may write."""
    steps = [s.model_copy(update={"evidence": evidence}) if s.number == number else s
             for s in sop.steps]  # fmt: skip
    return sop.model_copy(update={"steps": steps})


def _json(text: str) -> Any:
    import json

    return json.loads(text)


def test_a_ticket_walks_from_the_letter_to_closed_with_every_evidence_recorded(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Steps 2 to 12 through the CLI: the real verify and snapshots of this machine, the
    options of steps 5, 6, 8, 9, the officials' steps on their behalf with the scan."""
    scan, report = tmp_path / "ttd.pdf", tmp_path / "berita-acara.pdf"
    scan.write_bytes(b"%PDF signed on paper")
    report.write_bytes(b"%PDF Berita Acara Pekerjaan")
    ref = open_at(pelihara, factory, 2)
    andi, sari = ("--on-behalf-of", "Dr. Andi Wijaya"), ("--on-behalf-of", "Sari Dewi")
    for step, official in ((2, andi), (3, sari)):
        assert advance(pelihara, ref, step, *official, "--attach", str(scan)).exit_code == 0
    assert pelihara("verify", "run", ME, "--probe", "local", "--ticket", ref).exit_code in (0, 1)
    walk: list[tuple[str, ...]] = [
        ("4",), ("5", "--confirmed-by", "Rina Marlina"),
        ("6", "--announced-to", "pengguna", "--channel", "surat"),
    ]  # fmt: skip
    for step, *more in walk:
        result = advance(pelihara, ref, int(step), *more)
        assert result.exit_code == 0, result.output
    for phase in ("pre", "post"):
        taken = pelihara("snapshot", "take", ME, "--probe", "local", "--ticket", ref,
                         "--phase", phase)  # fmt: skip
        assert taken.exit_code == 0, taken.output
    assert pelihara("snapshot", "diff", "--ticket", ref).exit_code in (0, 1)
    walk = [("7",), ("8", "--no-withdrawal"), ("9", "--report", str(report)),
            ("10", *sari, "--attach", str(scan)), ("11", *andi, "--attach", str(scan)),
            ("12", *andi, "--attach", str(scan))]  # fmt: skip
    for step, *more in walk:
        result = advance(pelihara, ref, int(step), *more)
        assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{ref}: step 12 done (ticket closed)"
    kinds = [(r["kind"], r["step"]) for r in records(factory)]
    assert kinds == [("completeness_form", 5), ("announcement", 6), ("no_withdrawal", 8),
                     ("report", 9)]  # fmt: skip
    assert [entry["kind"] for entry in audited(factory)] == [kind for kind, _ in kinds]
    assert len(list(attachments_dir().iterdir())) == 2  # the scan and the report, once each
    assert pelihara("audit", "verify").exit_code == 0
