"""`pelihara report`: the Berita Acara of a ticket walked to step 8 on this machine (a real
verification run, real pre and post snapshots and their stored diff, a component withdrawn,
a photo attached), as PDF read back with pdftotext and rendered with pdftoppm, as HTML
parsed, as Markdown; the same records giving the same bytes; step 7's evidence missing
refused; on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.collector.models import SnapshotDiffRecord, SnapshotRecord
from pelihara.collector.snapshot_store import store_snapshot
from pelihara.core.canonical import sha256_hex
from pelihara.core.config import load_config
from pelihara.facts.model import Disk
from pelihara.facts.snapshot import snapshot_from_json
from pelihara.inventory.audit import Head, head
from pelihara.inventory.db import transaction
from pelihara.maintenance.calendar import work_calendar
from pelihara.maintenance.documents.berita_acara import (
    Extras,
    Generation,
    Setting,
    report_content,
    report_data,
)
from pelihara.maintenance.documents.generate import ReportRequest, render_format
from pelihara.maintenance.documents.render import local_moment, long_date, md_cell
from pelihara.maintenance.models import TicketRecord
from pelihara.maintenance.organisation import load_organisation
from pelihara.maintenance.people import load_people
from pelihara.maintenance.sop_file import packaged_sop
from pelihara.maintenance.tickets import find_ticket
from tests.maintenance.machine import ME, this_machine
from tests.maintenance.test_advance import OFFICIALS, _to_step_4
from tests.maintenance.test_evidence import CONTACTS, PARTS
from tests.maintenance.test_tickets import LETTER
from tests.realservers.base import require_binary

ORGANISATION = """
[organisation]
government = "Pemerintah Kota Uji"
unit = "Dinas Komunikasi dan Informatika"
address = "Jl. Pengujian No. 7, Kota Uji"
city = "Kota Uji"
website = "https://diskominfo.kotauji.go.id"
"""
INTENTS = "version: 1\nintents:\n  - {action: replace_disk, serial: DISK-9, by: DISK-10}\n"
Pelihara = Callable[..., Result]
VOID = {"meta", "br", "img", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


@pytest.fixture
def pelihara(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Pelihara:
    """`pelihara --db URL ARGS` as Budi (tim_data_center), in TMP_PATH (the report's default
    file lands there); this machine the server of Dinas Uji with three parts, the officials,
    the OPD's contacts and the organisation configured."""
    config = this_machine(db_url, factory, tmp_path, monkeypatch)
    config.write_text(config.read_text() + OFFICIALS + CONTACTS + ORGANISATION, encoding="utf-8")
    parts = tmp_path / "parts.csv"
    parts.write_text(PARTS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": ""}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    assert invoke("inventory", "import-components", str(parts)).exit_code == 0
    return invoke


def ok(pelihara: Pelihara, *args: str) -> str:
    result = pelihara(*args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.stdout


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def open_ticket(pelihara: Pelihara, tmp_path: Path) -> str:
    """A ticket of this machine, steps 2 and 3 recorded on behalf of the officials, step 4
    after a real verification run of this machine."""
    intents = _file(tmp_path, "intents.yaml", INTENTS.encode())
    ref = ok(pelihara, "ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
             "--summary", "Ganti disk yang rusak", "--intent", intents).strip()  # fmt: skip
    scan = Path(_file(tmp_path, "disposisi.pdf", b"%PDF-1.4 signed on paper\n"))
    _to_step_4(pelihara, ref, scan)
    verified = pelihara("verify", "run", ME, "--probe", "local", "--ticket", ref)
    assert verified.exit_code in (0, 1), verified.output
    ok(pelihara, "ticket", "advance", ref, "--step", "4")
    ok(pelihara, "ticket", "advance", ref, "--step", "5", "--confirmed-by", "Rina Marlina")
    ok(pelihara, "ticket", "advance", ref, "--step", "6", "--announced-to", "pengguna layanan",
       "--channel", "surat")  # fmt: skip
    return ref


def pulled_pair(pelihara: Pelihara, factory: sessionmaker[Session], ref: str) -> None:
    """A pre and a post snapshot of this machine under REF: its real facts (a real
    `snapshot take --probe local`), the pre side also holding the disk DISK-2, pulled out
    for the post side (a disk cannot be pulled out of the test machine); stored as
    `snapshot take` stores them."""
    ok(pelihara, "snapshot", "take", ME, "--probe", "local", "--ticket", "capture",
       "--phase", "pre")  # fmt: skip
    with transaction(factory) as session:
        row = session.scalars(select(SnapshotRecord)).one()
        real, server_id = snapshot_from_json(row.document), row.server_id
        disks = real.facts.disks or ()
        pulled = (Disk("sdy", 4000787030016, "ST4000", "DISK-2", mounts=()),)
        for phase, held, later in (("pre", disks + pulled, 0), ("post", disks, 60)):
            snapshot = dataclasses.replace(
                real, ticket=ref, phase=phase, facts=dataclasses.replace(real.facts, disks=held),
                taken_at=real.taken_at + timedelta(seconds=later),
            )  # fmt: skip
            store_snapshot(session, "tester", server_id, snapshot)


def walk_to_step_8(pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path) -> str:
    """The ticket with step 7 (snapshots, their stored diff, a photo) and step 8 (DISK-2
    withdrawn) done: the report is step 9."""
    ref = open_ticket(pelihara, tmp_path)
    pulled_pair(pelihara, factory, ref)
    intents = str(tmp_path / "intents.yaml")  # written by open_ticket
    diffed = pelihara("snapshot", "diff", "--ticket", ref, "--intent", intents)
    assert diffed.exit_code in (0, 1), diffed.output
    photo = _file(tmp_path, "foto-rak.jpg", b"\xff\xd8\xff\xe0 a photo of the rack")
    ok(pelihara, "ticket", "attach", ref, photo, "--step", "7")
    ok(pelihara, "ticket", "advance", ref, "--step", "7")
    ok(pelihara, "ticket", "withdraw", ref, "--component", "DISK-2", "--reason", "disk rusak",
       "--taken-by", "Joko, PT Vendor")  # fmt: skip
    ok(pelihara, "ticket", "advance", ref, "--step", "8")
    return ref


def pdf_text(path: Path) -> str:
    """The PDF's text in content order (each table cell whole), whitespace removed: a cell
    wrapped over lines still reads as its text (the letterhead is in capitals: compare
    case aside)."""
    binary = require_binary("pdftotext", "poppler-utils")
    out = subprocess.run([binary, "-raw", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return squeeze(out)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def generated(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with transaction(factory, commit=False) as session:
        rows = session.scalars(select(TicketRecord).where(TicketRecord.kind == "report"))
        return [{"sha256": r.sha256, "step": r.step, **json.loads(r.data)} for r in rows]


def evidence_hashes(factory: sessionmaker[Session]) -> dict[str, Any]:
    """The snapshots' and stored diffs' hashes, the diff's changes, the attachments'."""
    with transaction(factory, commit=False) as session:
        snapshots = list(
            session.scalars(select(SnapshotRecord.sha256).where(SnapshotRecord.ticket != "capture"))
        )
        [diff] = session.scalars(select(SnapshotDiffRecord)).all()
        files = [r.sha256 for r in session.scalars(select(TicketRecord)) if r.kind == "attachment"]
        return {"snapshots": snapshots, "diff": diff.sha256, "files": files,
                "changes": json.loads(diff.document)["changes"],
                "missing": json.loads(diff.document)["missing_intents"],
                "head": head(session)}  # fmt: skip


def test_the_pdf_holds_the_letter_servers_changes_withdrawals_hashes_and_signatories(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    known = evidence_hashes(factory)
    result = pelihara("report", ref)
    assert result.exit_code == 0, result.output
    sha256, name = result.stdout.split()
    path = tmp_path / name
    assert name == f"berita-acara-{ref.replace('/', '-')}.pdf" and path.read_bytes()[:5] == b"%PDF-"
    [record] = generated(factory)
    assert (record["sha256"], record["step"], record["format"], record["lang"]) == (
        sha256, 9, "pdf", "id")  # fmt: skip
    assert record["audit_head"] == str(known["head"])  # the head before the report's record
    text = pdf_text(path)
    wanted = ["005/DINKES/III/2026", "2Maret2026", "DinasUji", ME, f"BA/{ref}",
              "BeritaAcaraPemeliharaanServer", "06/SOP/Kominfo-PE/10/2018",
              "DISK-2", "diskrusak", "Joko,PTVendor", "foto-rak.jpg",
              "BudiSantoso", "SariDewi", "Dr.AndiWijaya", "198003152005012004",
              "PemerintahKotaUji", "Halaman1dari", known["diff"], known["head"].hash,
              *known["snapshots"], *known["files"],
              "dicatatolehBudiSantosoatasnamaDr.AndiWijaya"]  # fmt: skip
    wanted += [squeeze(f"{c['path']}: {c['label']}") for c in known["changes"]]
    assert known["missing"]  # the intent (DISK-9 by DISK-10) did not happen: in the report
    wanted.append(squeeze("replace_disk by=DISK-10 serial=DISK-9"))
    absent = [item for item in wanted if item.casefold() not in text.casefold()]
    assert absent == []
    assert any(c["key"] == ["serial", "DISK-2"] for c in known["changes"])
    pages = tmp_path / "pages"
    pages.mkdir()
    binary = require_binary("pdftoppm", "poppler-utils")
    rendered = subprocess.run([binary, "-r", "40", "-png", str(path), str(pages / "p")],
                              check=False, capture_output=True, text=True)  # fmt: skip
    assert rendered.returncode == 0 and rendered.stderr == "", rendered.stderr
    assert len(list(pages.glob("p*.png"))) >= 2
    # step 9's gate: the generated report is the report
    ok(pelihara, "ticket", "advance", ref, "--step", "9")
    assert "intact" in ok(pelihara, "audit", "verify", "--state")


def test_the_same_records_give_the_same_file_and_a_new_record_a_new_one(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    first = ok(pelihara, "report", ref, "--format", "html", "-o", "a.html").split()[0]
    again = ok(pelihara, "report", ref, "--format", "html", "-o", "b.html").split()[0]
    assert (
        first == again and (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    )
    pdf = [ok(pelihara, "report", ref, "-o", f"{n}.pdf").split()[0] for n in ("a", "b")]
    assert pdf[0] == pdf[1]
    records = generated(factory)
    assert [(r["format"], r["sha256"]) for r in records] == [("html", first), ("pdf", pdf[0])]
    assert records[0]["generated_at"] == records[1]["generated_at"]  # one generation
    assert records[0]["fingerprint"] == records[1]["fingerprint"]
    ok(pelihara, "ticket", "advance", ref, "--step", "9")  # the timeline changes
    later = ok(pelihara, "report", ref, "--format", "html", "-o", "c.html").split()[0]
    assert later != first
    assert len(generated(factory)) == 3
    assert "intact" in ok(pelihara, "audit", "verify")


class Checked(HTMLParser):
    """Every element closed in order, and every src/href an embedded data: URI or none."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and not (value or "").startswith("data:"):
                self.problems.append(f"<{tag} {name}={value}>")
        self.images += tag == "img"
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> closes nothing open")


def test_the_html_parses_and_names_no_external_resource(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    config = tmp_path / "pelihara.toml"  # [organisation] is its last table
    config.write_text(config.read_text() + 'logo = "logo.png"\n', encoding="utf-8")
    ok(pelihara, "report", ref, "--format", "html")
    html = (tmp_path / f"berita-acara-{ref.replace('/', '-')}.html").read_text("utf-8")
    parser = Checked()
    parser.feed(html)
    parser.close()
    assert parser.problems == [] and parser.open == []
    assert parser.images == 1  # the logo, as a data: URI
    assert not re.search(r"url\(\s*['\"]?https?:", html) and "@import" not in html
    assert "https://diskominfo.kotauji.go.id" in html  # as text, never a link
    assert "Tidak ada seri kesehatan untuk server ini." in html  # no charts given


def test_a_ticket_without_its_step_7_evidence_is_refused_naming_it(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = open_ticket(pelihara, tmp_path)
    result = pelihara("report", ref)
    assert result.exit_code == 3
    assert f"no report of ticket {ref}: the evidence of step 7" in result.stderr
    assert f"{ME}: no pre snapshot under ticket {ref}" in result.stderr
    assert f"{ME}: no post snapshot under ticket {ref}" in result.stderr
    assert generated(factory) == [] and list(tmp_path.glob("berita-acara-*")) == []
    assert pelihara("report", "2026/9999").exit_code == 7


def test_english_headings_and_refusals_of_the_command(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    ok(pelihara, "report", ref, "--format", "md", "--lang", "en", "-o", "en.md")
    english = (tmp_path / "en.md").read_text("utf-8")
    for heading in ("# Server Maintenance Report (Berita Acara)", "## SOP steps",
                    "## Devices withdrawn (step 8)", "## Evidence fingerprints (SHA-256)",
                    "2 March 2026", "| DISK-2 |"):  # fmt: skip
        assert heading in english
    assert "Berita Acara Pemeliharaan Server" not in english
    ok(pelihara, "report", ref, "--format", "md", "-o", "id.md")
    indonesian = (tmp_path / "id.md").read_text("utf-8")
    assert "# Berita Acara Pemeliharaan Server" in indonesian and "2 Maret 2026" in indonesian
    result = pelihara("report", ref, "--format", "md", "-o", "id.md")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert pelihara("report", ref, "--format", "md", "-o", "id.md", "--force").exit_code == 0


def test_dates_and_times_are_written_the_indonesian_way() -> None:
    assert long_date(datetime(2026, 12, 3).date()) == "3 Desember 2026"
    assert long_date(datetime(2026, 12, 3).date(), "en") == "3 December 2026"
    moment = datetime(2026, 3, 4, 3, 15, tzinfo=UTC)
    assert local_moment(moment, ZoneInfo("Asia/Jakarta")) == "4 Maret 2026 10:15 WIB"
    assert local_moment(moment, ZoneInfo("Asia/Jayapura")) == "4 Maret 2026 12:15 WIT"
    assert md_cell("a | b\nc") == "a \\| b c" and md_cell(None) == ""


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60">'
       b'<polyline points="0,50 100,10 200,30" fill="none" stroke="black"/>'
       b'<text x="5" y="58" font-size="9">cpu sebelum/sesudah</text></svg>')  # fmt: skip


def test_a_chart_given_by_the_caller_is_embedded_and_drawn(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The place the charts module fills: `Extras.charts` per host, a data URI; the HTML
    embeds it, the PDF draws it, and a server without one says it has no series."""
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    config = load_config(tmp_path / "pelihara.toml")
    organisation = load_organisation(config)
    assert organisation is not None
    setting = Setting(organisation, load_people(config), work_calendar(config))
    chart = "data:image/svg+xml;base64," + base64.b64encode(SVG).decode("ascii")
    generation = Generation(datetime(2026, 3, 11, 2, 0, tzinfo=UTC), Head(1, "0" * 64))
    with transaction(factory, commit=False) as session:
        ticket = find_ticket(session, ref)
        sop = packaged_sop()
        content = report_content(session, ticket, sop, setting, "id", Extras({ME: chart}))
        bare = report_content(session, ticket, sop, setting, "id")
    html = render_format(report_data(content, generation), ReportRequest("html"), setting)
    assert f'src="{chart}"'.encode() in html and b"Tidak ada seri kesehatan" not in html
    assert b"11 Maret 2026" in html and b"11 Maret 2026 09:00 WIB" in html  # WIB, UTC+7
    assert sha256_hex(content) != sha256_hex(bare)  # a chart is content: it changes the hash
    pdf = tmp_path / "chart.pdf"
    pdf.write_bytes(render_format(report_data(content, generation), ReportRequest(), setting))
    assert "cpusebelum/sesudah" in pdf_text(pdf)  # the SVG's own text, drawn in the PDF


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_command_embeds_each_servers_health_chart_and_each_photos_thumbnail(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    from PIL import Image

    ref = walk_to_step_8(pelihara, factory, tmp_path)
    ok(pelihara, "agent", "run", "--once")  # a real sample of this machine, embedded store
    picture = tmp_path / "rak.png"
    Image.new("RGB", (800, 600), (200, 30, 30)).save(picture)
    ok(pelihara, "ticket", "attach", ref, str(picture), "--step", "8")
    ok(pelihara, "report", ref, "--format", "html", "-o", "ba.html")
    html = (tmp_path / "ba.html").read_text(encoding="utf-8")
    [chart] = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    svg = base64.b64decode(chart).decode("utf-8")
    assert 'id="window-' in svg and 'id="series-' in svg  # the window shaded, a series drawn
    [thumb] = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert base64.b64decode(thumb).startswith(b"\x89PNG")
    assert "Tidak ada seri kesehatan" not in html


def test_a_store_that_cannot_be_read_is_said_so_not_taken_for_no_series(
    pelihara: Pelihara, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ref = walk_to_step_8(pelihara, factory, tmp_path)
    down = f"victoriametrics://127.0.0.1:{_closed_port()}"
    result = pelihara("report", ref, "--format", "md", "-o", "ba.md", "--tsdb", down)
    assert result.exit_code == 0, result.output
    assert "health charts not made" in result.stderr and down in result.stderr
    text = (tmp_path / "ba.md").read_text(encoding="utf-8")
    assert "Grafik tidak dibuat: penyimpanan deret waktu tidak dapat dibaca" in text
    assert "Tidak ada seri kesehatan" not in text
