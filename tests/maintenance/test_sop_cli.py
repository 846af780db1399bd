"""`pelihara sop list/show/check`: the packaged SOP, a related SOP added as a file in the
configuration directory without code, and broken files named and kept apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pelihara.cli.main import cli
from tests.layout import ROOT

COLOCATION = ROOT / "examples" / "sops" / "permohonan-colocation.yaml"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "sops").mkdir()
    return tmp_path


def run(home: Path, *args: str) -> Result:
    env = {"PELIHARA_HOME": str(home), "PELIHARA_CONFIG": ""}
    return CliRunner().invoke(cli, list(args), env=env)


def test_a_second_sop_in_the_config_dir_is_listed_and_shown(home: Path) -> None:
    shutil.copy(COLOCATION, home / "sops")
    listed = run(home, "sop", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [(e["name"], e["steps"]) for e in json.loads(listed.output)] == [
        ("pemeliharaan-server", 12), ("permohonan-colocation", 3)]  # fmt: skip
    assert json.loads(listed.output)[1]["source"] == str(home / "sops" / COLOCATION.name)
    shown = run(home, "sop", "show", "permohonan-colocation")
    assert shown.exit_code == 0, shown.output
    assert "Tim Data Center bersama OPD" in shown.output and "2 hari kerja" in shown.output
    assert "formulir kelengkapan, lampiran" in shown.output
    english = run(home, "sop", "show", "permohonan-colocation", "--lang", "en", "--format", "json")
    assert json.loads(english.output)["steps"][2]["with"] == ["opd"]


def test_the_packaged_sop_is_shown_in_both_languages(home: Path) -> None:
    shown = run(home, "sop", "show", "pemeliharaan-server")
    assert shown.exit_code == 0, shown.output
    assert "06/SOP/Kominfo-PE/10/2018, Revisi 02" in shown.output
    assert "Peringatan: Pencatatan dan pendokumentasian" in shown.output
    assert "Kepala Dinas Kominfo mendisposisikan" in shown.output
    assert "Dasar Hukum:" in shown.output and "Keterkaitan:" in shown.output
    english = run(home, "sop", "show", "pemeliharaan-server", "--lang", "en")
    assert "The staff write the report of the work done" in english.output
    assert "1 working day" in english.output
    document = json.loads(run(home, "sop", "show", "pemeliharaan-server", "--format", "json")
                          .output)  # fmt: skip
    assert document["schema"] == 1 and len(document["steps"]) == 12
    assert document["steps"][6]["evidence"] == ["snapshots_and_diff"]


def test_a_broken_file_is_listed_as_broken_and_the_others_still_are(home: Path) -> None:
    shutil.copy(COLOCATION, home / "sops")
    text = COLOCATION.read_text().replace("evidence: [attachment]", "evidence: [foto]")
    (home / "sops" / "rusak.yaml").write_text(text.replace("permohonan-colocation", "rusak"))
    listed = run(home, "sop", "list")
    assert listed.exit_code == 3
    assert "permohonan-colocation" in listed.stdout and "pemeliharaan-server" in listed.stdout
    assert "BROKEN: 1 problem" in listed.stdout
    assert f"{home / 'sops' / 'rusak.yaml'}:" in listed.stderr
    assert "[step 1 evidence]: unknown evidence kind 'foto'" in listed.stderr
    shown = run(home, "sop", "show", "rusak")
    assert shown.exit_code == 3 and "unknown evidence kind 'foto'" in shown.stderr


def test_a_configured_file_cannot_replace_the_packaged_sop(home: Path) -> None:
    text = COLOCATION.read_text().replace("permohonan-colocation", "pemeliharaan-server")
    (home / "sops" / "mine.yaml").write_text(text)
    listed = run(home, "sop", "list")
    assert listed.exit_code == 3
    assert "the packaged SOP's name; a configured file cannot replace it" in listed.stderr
    shown = run(home, "sop", "show", "pemeliharaan-server")
    assert "06/SOP/Kominfo-PE/10/2018" in shown.stdout  # still the packaged one


def test_two_configured_files_of_one_name_keep_the_first(home: Path) -> None:
    shutil.copy(COLOCATION, home / "sops" / "a.yaml")
    shutil.copy(COLOCATION, home / "sops" / "b.yaml")
    listed = run(home, "sop", "list")
    assert listed.exit_code == 3
    assert f"also the name of {home / 'sops' / 'a.yaml'}" in listed.stderr


def test_an_unknown_sop_names_the_ones_there_are(home: Path) -> None:
    shown = run(home, "sop", "show", "colocation")
    assert shown.exit_code == 7
    assert "no SOP named 'colocation'; there are: pemeliharaan-server" in shown.stderr


def test_check_says_valid_in_one_line_or_every_problem(home: Path, tmp_path: Path) -> None:
    good = run(home, "sop", "check", str(COLOCATION))
    assert good.exit_code == 0
    assert good.stdout.splitlines() == [
        f"{COLOCATION}: valid SOP 'permohonan-colocation' (00/SOP/CONTOH/2026, revision 01): "
        "3 steps"
    ]
    bad = tmp_path / "bad.yaml"
    text = COLOCATION.read_text().replace("role: kepala_dinas", "role: walikota")
    text = text.replace("service_level_days: 2", "service_level_days: dua")
    bad.write_text(text)
    role, days = (text[: text.index(word)].count("\n") + 1 for word in ("walikota", ": dua"))
    refused = run(home, "sop", "check", str(bad))
    assert refused.exit_code == 3
    assert f"{bad}:{role} [step 2 role]: unknown role 'walikota'" in refused.stderr
    assert f"{bad}:{days} [step 3 service_level_days]: expected a whole number, not 'dua'" in (
        refused.stderr
    )
    assert "2 problems found; the SOP file was not used" in refused.stderr
    assert "Traceback" not in refused.output
    missing = run(home, "sop", "check", str(tmp_path / "none.yaml"))
    assert missing.exit_code == 3 and "cannot be read" in missing.stderr


def test_check_warns_that_the_packaged_name_would_be_refused(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    shutil.copy(ROOT / "maintenance" / "sops" / "pemeliharaan-server.yaml", copy)
    checked = run(home, "sop", "check", str(copy))
    assert checked.exit_code == 0 and "12 steps" in checked.stdout
    assert "would be refused" in checked.stderr
