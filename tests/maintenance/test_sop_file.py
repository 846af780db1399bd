"""The SOP as data: the packaged SOP Pemeliharaan Server, and every malformed file refused
with its file, line, step and field (never a raw pydantic message)."""

from __future__ import annotations

from importlib.resources import files

import pytest

from pelihara.core.errors import InputError
from pelihara.maintenance.roles import ROLES
from pelihara.maintenance.sop import EVIDENCE_KINDS
from pelihara.maintenance.sop_file import packaged_sop, parse_sop

TEXT = files("pelihara.maintenance").joinpath("sops", "pemeliharaan-server.yaml").read_text()
FILE = "sops/broken.yaml"


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_sop(FILE, text)
    return [str(problem) for problem in caught.value.problems]


def changed(old: str, new: str, count: int = 1) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, count)


def test_the_packaged_sop_is_the_documents_with_its_12_steps() -> None:
    sop = packaged_sop()
    assert (sop.name, sop.number, sop.revision) == (
        "pemeliharaan-server", "06/SOP/Kominfo-PE/10/2018", "02")  # fmt: skip
    assert sop.title.id == "Pemeliharaan Server"
    assert [s.number for s in sop.steps] == list(range(1, 13))
    assert [s.role for s in sop.steps] == [
        "opd", "kepala_dinas", "kepala_bidang", *["tim_data_center"] * 6,
        "kepala_bidang", "kepala_dinas", "kepala_dinas",
    ]  # fmt: skip
    assert [s.output for s in sop.steps] == [
        *["Disposisi Dinas"] * 3, "Data", "Dokumen Isian kelengkapan", "Informasi",
        *["Dokumentasi"] * 3, "Dokumen", "Dokumen", "",
    ]  # fmt: skip
    assert [s.service_level_days for s in sop.steps] == [1] * 11 + [None]
    assert [list(s.evidence) for s in sop.steps][3:11] == [
        ["verification_run"], ["completeness_form"], ["announcement"], ["snapshots_and_diff"],
        ["withdrawal_decision"], ["report"], ["receipt"], ["review"],
    ]  # fmt: skip
    assert sop.steps[8].requirements.endswith("Berita Acara Pekerjaan")
    assert len(sop.legal_basis) == 14 and sop.legal_basis[0].startswith("Undang-undang Nomor 11")
    assert "SOP Permohonan Colocation" in sop.related
    assert "SOP Penarikan Server Dari Data Center" in sop.related
    assert sop.warning is not None and "pengawasan penggunaan Server" in sop.warning.id


def test_the_closed_sets_are_the_ones_documented() -> None:
    assert set(ROLES) == {"kepala_dinas", "kepala_bidang", "tim_data_center", "opd"}
    assert set(EVIDENCE_KINDS) == {
        "verification_run", "completeness_form", "announcement", "snapshots_and_diff",
        "withdrawal_decision", "report", "receipt", "review", "attachment",
    }  # fmt: skip


def _line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        (
            "evidence: [snapshots_and_diff]",
            "evidence: [foto]",
            "[step 7 evidence]",
            "unknown evidence kind 'foto'; use one of verification_run, completeness_form",
        ),
        (
            "role: kepala_bidang",
            "role: kabid",
            "[step 3 role]",
            "unknown role 'kabid'; use one of kepala_dinas",
        ),
        ("with: [opd]", "with: [pemohon]", "[step 5 with]", "unknown role 'pemohon'"),
        (
            "    output: Informasi",
            "    ouput: Informasi",
            "[step 6 ouput]",
            "unknown field 'ouput'; the fields here: number, name, short, role, with",
        ),
        (
            "service_level_days: 1\n    evidence: [report]",
            'service_level_days: "1"\n    evidence: [report]',
            "[step 9 service_level_days]",
            "expected a whole number, not '1'",
        ),
        (
            "service_level_days: 1\n    evidence: [review]",
            "service_level_days: 0\n    evidence: [review]",
            "[step 11 service_level_days]",
            "0: must be at least 1",
        ),
        ("number: 10", "number: 11", "[step 11 number]", "numbered 11 where step 10 belongs"),
        (
            "evidence: [receipt]",
            "evidence: [receipt, receipt]",
            "[step 10 evidence]",
            "evidence kind 'receipt' is listed twice",
        ),
        ("    role: opd\n", "", "[step 1 role]", "missing; this field is required"),
        ("schema: 1", "schema: 2", "[schema]", "schema 2 is not one this pelihara reads"),
        ("name: pemeliharaan-server", "name: Pemeliharaan Server", "[name]", "is not a name"),
        ("  en: Server maintenance\n", "", "[title.en]", "missing"),
    ],
)
def test_a_malformed_file_names_file_line_step_and_field(
    old: str, new: str, where: str, says: str
) -> None:
    found = problems(changed(old, new))
    assert len(found) == 1, found
    assert found[0].startswith(f"{FILE}:"), found
    assert f" {where}: " in found[0] and says in found[0], found
    assert "pydantic" not in found[0] and "https://" not in found[0]


def test_the_line_is_the_fields_own() -> None:
    text = changed("evidence: [snapshots_and_diff]", "evidence: [foto]")
    line = _line_of(text, "evidence: [foto]")
    assert problems(text) == [
        f"{FILE}:{line} [step 7 evidence]: unknown evidence kind 'foto'; use one of "
        "verification_run, completeness_form, announcement, snapshots_and_diff, "
        "withdrawal_decision, report, receipt, review, attachment"
    ]


def test_every_problem_of_a_file_is_named() -> None:
    text = changed("evidence: [snapshots_and_diff]", "evidence: [foto]")
    text = text.replace("role: kepala_bidang", "role: kabid", 1).replace("schema: 1", "schema: 9")
    assert [p.split(" ", 1)[1].split(":")[0] for p in problems(text)] == [
        "[schema]", "[step 3 role]", "[step 7 evidence]"
    ]  # fmt: skip


def test_anchors_aliases_and_non_mappings_are_refused() -> None:
    aliased = changed("role: kepala_dinas", "role: &boss kepala_dinas").replace(
        "role: kepala_bidang", "role: *boss", 1
    )
    assert "anchors (&name) are not accepted" in problems(aliased)[0]
    assert problems("- a list\n") == [f"{FILE}:1: an SOP file is a mapping of field: value"]
    assert "empty" in problems("")[0]
    assert "not valid YAML" in problems("steps: [\n")[0]


def test_steps_may_not_be_missing_or_empty() -> None:
    head = TEXT[: TEXT.index("steps:")]
    assert "[steps]: missing" in problems(head)[0]
    assert "[steps]: is empty; at least one is needed" in problems(head + "steps: []\n")[0]


def test_a_step_is_named_in_messages_and_tables_by_its_short_name_or_else_its_name() -> None:
    sop = packaged_sop()
    assert sop.step(5).label() == "Formulir kelengkapan"
    assert sop.step(5).label("en") == "Completeness form"
    assert all(step.short is not None for step in sop.steps)  # the packaged SOP has them all
    plain = sop.step(5).model_copy(update={"short": None})
    assert plain.label() == sop.step(5).name.id  # a file without `short` still reads
