"""`pelihara form completeness|withdrawal` and `pelihara report --blank`: the SOP's forms of
a ticket walked on this machine (test_report.py's walk: a real verification run, real
snapshots, DISK-2 withdrawn), read back from the PDF with pdftotext, each page rendered
with pdftoppm, the HTML parsed; the blank forms; on SQLite and the real PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.inventory.db import transaction
from pelihara.maintenance.models import TicketRecord
from tests.maintenance.machine import ME
from tests.maintenance.test_report import (
    Checked,
    Pelihara,
    ok,
    open_ticket,
    pdf_text,
    pelihara,
    walk_to_step_8,
)
from tests.maintenance.test_tickets import LETTER
from tests.realservers.base import require_binary

__all__ = ["pelihara"]  # the fixture, shared with test_report.py
SERIALS = ("PSU-B", "DISK-2", "DISK-1")  # the parts test_report's fixture imports


def pages(path: Path, tmp_path: Path) -> int:
    """How many pages of PATH pdftoppm renders (asserting it says nothing wrong)."""
    out = tmp_path / f"pages-{path.stem}"
    out.mkdir()
    binary = require_binary("pdftoppm", "poppler-utils")
    done = subprocess.run([binary, "-r", "30", "-png", str(path), str(out / "p")],
                          check=False, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return len(list(out.glob("p*.png")))


def records(factory: sessionmaker[Session]) -> list[tuple[str, int]]:
    with transaction(factory, commit=False) as session:
        return [(r.kind, r.id) for r in session.scalars(select(TicketRecord))]


def checked_html(path: Path) -> str:
    html = path.read_text(encoding="utf-8")
    parser = Checked()
    parser.feed(html)
    parser.close()
    assert parser.problems == [] and parser.open == []
    assert "url(http" not in html and "@import" not in html
    return html


def test_the_completeness_form_prints_the_confirmed_form_with_its_hash_and_contact(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_ticket(pelihara, tmp_path)  # step 5 confirmed by Rina Marlina
    before = records(factory)
    result = pelihara("form", "completeness", ref)
    assert result.exit_code == 0, result.output
    sha256, name = result.stdout.split()
    assert name == f"formulir-kelengkapan-{ref.replace('/', '-')}.pdf"
    assert records(factory) == before  # a view: nothing recorded
    with transaction(factory, commit=False) as session:
        [confirmed] = session.scalars(
            select(TicketRecord).where(TicketRecord.kind == "completeness_form")
        ).all()
        form_sha = confirmed.sha256
    text = pdf_text(tmp_path / name)
    wanted = ["FormulirKelengkapanPerangkatServer", f"FK/{ref}", ME, *SERIALS, "RinaMarlina",
              "DinasUji", "005/DINKES/III/2026", "PemerintahKotaUji", "sebagaimanadikonfirmasi",
              "KonfirmasiOPD", "Halaman1dari", str(form_sha)]  # fmt: skip
    assert [w for w in wanted if w.casefold() not in text.casefold()] == []
    assert pages(tmp_path / name, tmp_path) >= 1
    # the inventory changes after the confirmation: the form prints what was confirmed
    parts = tmp_path / "more.csv"
    parts.write_text(f"hostname,kind,model,serial,slot,status\n{ME},psu,PWS-1K,PSU-NEW,PSU3,"
                     "installed\n", encoding="utf-8")  # fmt: skip
    ok(pelihara, "inventory", "import-components", str(parts))
    ok(pelihara, "form", "completeness", ref, "--format", "html", "-o", "fk.html")
    html = checked_html(tmp_path / "fk.html")
    assert "PSU-NEW" not in html and "DISK-2" in html and "Rina Marlina" in html
    again = ok(pelihara, "form", "completeness", ref, "-o", name, "--force").split()[0]
    assert again == sha256  # the same records: the same file (dated by the confirmation)


def test_before_the_confirmation_the_form_shows_the_inventory_now_and_says_so(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = ok(pelihara, "ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
             "--summary", "Cek").strip()  # fmt: skip
    ok(pelihara, "form", "completeness", ref, "--format", "md", "--lang", "en", "-o", "fk.md")
    text = (tmp_path / "fk.md").read_text(encoding="utf-8")
    assert "# Server Equipment Completeness Form" in text
    assert "not confirmed by the OPD yet" in text and "Formulir Kelengkapan" not in text
    assert all(f"| {serial} |" in text for serial in SERIALS)
    assert "Rina Marlina" in text  # the OPD's only contact in pelihara.toml signs for it
    assert "Joko Susilo" not in text  # a contact of another OPD


def test_the_withdrawal_form_holds_each_serial_reason_custody_and_signatories(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    before = records(factory)
    name = ok(pelihara, "form", "withdrawal", ref).split()[1]
    assert name == f"formulir-penarikan-{ref.replace('/', '-')}.pdf"
    assert records(factory) == before
    text = pdf_text(tmp_path / name)
    wanted = ["FormulirPenarikanPerangkat", f"FP/{ref}", "DISK-2", "ST4000", "bay2", ME,
              "diskrusak", "Joko,PTVendor", "BudiSantoso", "RinaMarlina", "Yangmembawa",
              "TimDataCenter", "PerwakilanOPD", "Halaman1dari"]  # fmt: skip
    assert [w for w in wanted if w.casefold() not in text.casefold()] == []
    assert "Tidakadaperangkatyangditarik" not in text
    assert pages(tmp_path / name, tmp_path) >= 1
    ok(pelihara, "form", "withdrawal", ref, "--format", "html", "--lang", "en", "-o", "fp.html")
    html = checked_html(tmp_path / "fp.html")
    assert "Device Withdrawal Form" in html and "Taken by" in html and "disk rusak" in html


def test_a_ticket_without_withdrawals_says_none_was_withdrawn_and_who_decided(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_ticket(pelihara, tmp_path)
    ok(pelihara, "form", "withdrawal", ref, "--format", "md", "-o", "none.md")
    undecided = (tmp_path / "none.md").read_text(encoding="utf-8")
    assert "Tidak ada perangkat yang ditarik" in undecided and "belum dicatat" in undecided
    with transaction(factory) as session:  # the decision, as `advance --no-withdrawal` keeps it
        [step5] = session.scalars(
            select(TicketRecord).where(TicketRecord.kind == "completeness_form")
        ).all()
        session.add(TicketRecord(ticket_id=step5.ticket_id, kind="no_withdrawal", step=8,
                                 recorded_at=step5.recorded_at, person_name="Budi Santoso",
                                 actor="tester", data="{}"))  # fmt: skip
    name = ok(pelihara, "form", "withdrawal", ref).split()[1]
    text = pdf_text(tmp_path / name)
    assert "Tidakadaperangkatyangditarik" in text
    assert "DiputuskantidakadaperangkatyangditarikolehBudiSantoso" in text


def test_a_confirmed_form_changed_behind_pelihara_is_refused(
    pelihara: Pelihara, engine: Engine, tmp_path: Path
) -> None:
    ref = open_ticket(pelihara, tmp_path)
    postgres = engine.dialect.name == "postgresql"
    drop = ("DROP TRIGGER ticket_record_no_change ON ticket_record" if postgres
            else "DROP TRIGGER ticket_record_no_update")  # fmt: skip
    with engine.begin() as connection:  # the append-only guard removed, as an intruder would
        connection.execute(text(drop))
        connection.execute(update(TicketRecord).where(TicketRecord.kind == "completeness_form")
                           .values(sha256="0" * 64))  # fmt: skip
    result = pelihara("form", "completeness", ref)
    assert result.exit_code == 6
    assert f"ticket {ref}: the completeness form confirmed in record" in result.stderr
    assert list(tmp_path.glob("formulir-*")) == []
    assert pelihara("form", "withdrawal", "2026/9999").exit_code == 7


@pytest.mark.parametrize("form", ["berita-acara", "completeness", "withdrawal"])
def test_a_blank_form_has_the_headings_lines_to_write_on_and_no_ticket_data(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No database, no ticket: only the configuration's letterhead (none here)."""
    monkeypatch.chdir(tmp_path)
    env = {"PELIHARA_CONFIG": str(tmp_path / "none.toml"), "PELIHARA_HOME": str(tmp_path)}
    run = CliRunner().invoke
    result = run(cli, ["report", "--blank", form], env=env)
    assert result.exit_code == 0, result.output
    path = tmp_path / result.stdout.split()[1]
    assert path.name.endswith("-kosong.pdf")
    text = pdf_text(path)
    heading = {"berita-acara": "BeritaAcaraPemeliharaanServer",
               "completeness": "FormulirKelengkapanPerangkatServer",
               "withdrawal": "FormulirPenarikanPerangkat"}[form]  # fmt: skip
    for wanted in (heading, "Formulirkosonguntukpencatatanmanual", "(kopsurat)", "NIP",
                   "Halaman1dari"):  # fmt: skip
        assert wanted.casefold() in text.casefold()
    for ticket_data in ("2026/", "DISK-", "Rina", "Budi", "Tidakadaperangkat"):
        assert ticket_data not in text
    assert pages(path, tmp_path) >= 1
    html = run(cli, ["report", "--blank", form, "--format", "html", "--lang", "en", "-o",
                     "b.html"], env=env)  # fmt: skip
    assert html.exit_code == 0, html.output
    english = checked_html(tmp_path / "b.html")
    assert "Blank form for recording by hand" in english and "(letterhead)" in english
    assert english.count('class="write"') >= 8  # the lines to write on


def test_a_blank_form_takes_the_letterhead_and_refuses_a_ticket_or_markdown(
    pelihara: Pelihara, tmp_path: Path
) -> None:
    ok(pelihara, "report", "--blank", "berita-acara", "--format", "html", "-o", "ba.html")
    html = checked_html(tmp_path / "ba.html")
    assert "Pemerintah Kota Uji" in html and "(kop surat)" not in html
    assert "Disposisi Kepala Dinas" in html  # the SOP's steps, to tick by hand
    for args, said in ((("2026/0001", "--blank", "withdrawal"), "leave TICKET"),
                       (("--blank", "completeness", "--format", "md"), "not md"),
                       ((), "give a TICKET")):  # fmt: skip
        result = pelihara("report", *args)
        assert result.exit_code == 2 and said in result.stderr, result.output
    result = pelihara("report", "--blank", "berita-acara", "--format", "html", "-o", "ba.html")
    assert result.exit_code == 2 and "--force" in result.stderr
