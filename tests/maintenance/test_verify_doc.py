"""`pelihara verify show RUN --format html|pdf`: a real `verify run --probe local` of this
machine (its inventory entry naming parts it does not have: findings not ok), shown as the
document for the Kepala Bidang; the PDF read back with pdftotext and rendered with
pdftoppm, the HTML parsed; on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.collector.findings import VERDICT_WORDS, VERDICTS
from pelihara.maintenance.documents.labels import VERDICT_WORDS_ID, VERIFY_RUN
from tests.maintenance.machine import ME, this_machine
from tests.maintenance.test_evidence import PARTS
from tests.maintenance.test_report import ORGANISATION, Checked, Pelihara, ok, pdf_text, squeeze
from tests.realservers.base import require_binary


@pytest.fixture
def pelihara(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Pelihara:
    """`pelihara --db URL ARGS` in TMP_PATH, this machine the server of Dinas Uji with three
    parts it does not have (serials the verification cannot find); no [organisation]."""
    config = this_machine(db_url, factory, tmp_path, monkeypatch)
    parts = tmp_path / "parts.csv"
    parts.write_text(PARTS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": ""}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    ok(invoke, "inventory", "import-components", str(parts))
    return invoke


def verified(pelihara: Pelihara) -> dict[str, object]:
    """A real verification run of this machine; the run as `verify show --format json`."""
    result = pelihara("verify", "run", ME, "--probe", "local")
    assert result.exit_code in (0, 1, 4, 5), result.output
    [run] = json.loads(ok(pelihara, "verify", "list", "--format", "json"))
    document: dict[str, object] = json.loads(
        ok(pelihara, "verify", "show", str(run["run"]), "--format", "json")
    )
    return document


def not_ok(document: dict[str, object]) -> list[dict[str, str]]:
    findings = document["findings"]
    assert isinstance(findings, list)
    return [f for f in findings if f["status"] != "ok"]


def test_the_pdf_holds_the_run_the_host_its_verdict_in_words_and_the_findings_not_ok(
    pelihara: Pelihara, tmp_path: Path
) -> None:
    document = verified(pelihara)
    run = str(document["run"])
    bad = not_ok(document)
    assert bad, "the parts the inventory names are not on this machine: findings not ok"
    verdict = document["verdicts"][ME]  # type: ignore[index]
    assert verdict != "ok"
    sha256, name = ok(pelihara, "verify", "show", run, "--format", "pdf").split()
    path = tmp_path / name
    assert name == f"verifikasi-{run}.pdf" and path.read_bytes()[:5] == b"%PDF-"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    text = pdf_text(path).casefold()
    wanted = ["Hasil Verifikasi Server", f"Verifikasi {run}", ME, VERDICT_WORDS_ID[verdict],
              "WIB", "tanpa tiket", "Diterima oleh", "Halaman 1 dari"]  # fmt: skip
    for finding in bad:
        wanted += [finding["check"], finding["status"], finding["expected"] or "-"]
    absent = [item for item in wanted if squeeze(item).casefold() not in text]
    assert absent == []
    pages = tmp_path / "pages"
    pages.mkdir()
    binary = require_binary("pdftoppm", "poppler-utils")
    rendered = subprocess.run([binary, "-r", "40", "-png", str(path), str(pages / "p")],
                              check=False, capture_output=True, text=True)  # fmt: skip
    assert rendered.returncode == 0 and rendered.stderr == "", rendered.stderr
    assert list(pages.glob("p*.png"))
    # the same run, the same document: byte for byte
    again = ok(pelihara, "verify", "show", run, "--format", "pdf", "-o", "again.pdf").split()
    assert again == [sha256, "again.pdf"]


def test_the_html_parses_names_no_external_resource_with_or_without_a_letterhead(
    pelihara: Pelihara, tmp_path: Path
) -> None:
    document = verified(pelihara)
    run = str(document["run"])
    plain = ok(pelihara, "verify", "show", run, "--format", "html")
    config = tmp_path / "pelihara.toml"
    config.write_text(config.read_text() + ORGANISATION, encoding="utf-8")
    headed = ok(pelihara, "verify", "show", run, "--format", "html")
    for html in (plain, headed):
        parser = Checked()
        parser.feed(html)
        parser.close()
        assert parser.problems == [] and parser.open == []
        assert not re.search(r"url\(\s*['\"]?https?:", html) and "@import" not in html
        assert f"<td>{ME}</td>" in html and not_ok(document)[0]["check"] in html
    assert 'class="letterhead"' not in plain and "Dinas Komunikasi dan Informatika" not in plain
    assert 'class="letterhead"' in headed and "Dinas Komunikasi dan Informatika" in headed


def test_english_words_and_what_the_command_refuses(pelihara: Pelihara, tmp_path: Path) -> None:
    document = verified(pelihara)
    run = str(document["run"])
    verdict = document["verdicts"][ME]  # type: ignore[index]
    _, name = ok(pelihara, "verify", "show", run, "--format", "html", "--lang", "en",
                 "-o", "run.html").split()  # fmt: skip
    html = (tmp_path / name).read_text("utf-8")
    assert "Server Verification Result" in html and VERDICT_WORDS[verdict] in html
    assert "Hasil Verifikasi" not in html and VERDICT_WORDS_ID[verdict] not in html
    refused = pelihara("verify", "show", run, "--lang", "en")
    assert refused.exit_code == 2 and "--format html or pdf" in refused.output
    missing = pelihara("verify", "show", "99999", "--format", "pdf")
    assert missing.exit_code == 7 and "no verification run 99999" in missing.output
    assert not (tmp_path / "verifikasi-99999.pdf").exists()


def test_every_verdict_and_word_exists_in_both_languages() -> None:
    assert set(VERDICT_WORDS_ID) == set(VERDICTS) == set(VERDICT_WORDS)
    assert set(VERIFY_RUN["id"]) == set(VERIFY_RUN["en"])
