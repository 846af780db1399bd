"""pelihara.toml's organisation and people: a valid file, and every malformed entry refused
naming the file, the person (by index and name) and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pelihara.core.config import load_config
from pelihara.core.errors import ConfigurationError
from pelihara.maintenance.organisation import load_organisation
from pelihara.maintenance.people import load_people, nip_problem

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pelihara.toml"
NIP = "197003121995031002"


def _people(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pelihara.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_people(load_config(path))
    return str(caught.value)


def test_the_example_file_is_valid_and_read_whole() -> None:
    config = load_config(EXAMPLE)
    people = load_people(config)
    assert [p.roles for p in people.people][:3] == [
        ("kepala_dinas",),
        ("kepala_bidang",),
        ("tim_data_center",),
    ]
    andi = people.with_role("kepala_dinas")[0]
    assert andi.nip == NIP  # written with spaces, kept as 18 digits
    budi = people.find("budi santoso, s.t.")
    assert people.by_os_user("budi") == people.by_db_role("budi") == budi
    assert [p.name for p in people.contacts_of("dinas kesehatan")] == ["dr. Maya Kusuma"]
    assert people.contacts_of("Dinas Kesehatan")[0].nip is None  # optional for an OPD contact
    organisation = load_organisation(config)
    assert organisation is not None
    assert (organisation.government, organisation.unit) == (
        "Pemerintah Kota Contoh",
        "Dinas Komunikasi dan Informatika",
    )


def test_a_file_without_people_has_none(tmp_path: Path) -> None:
    path = _people(tmp_path, '[display]\ntime_zone = "Asia/Jakarta"\n')
    assert load_people(load_config(path)).people == ()
    assert load_organisation(load_config(path)) is None


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ('nip = "12345"\nroles = ["tim_data_center"]', "nip", "5 digits, a NIP has 18"),
        ('nip = "1970031219950310XX"\nroles = ["tim_data_center"]', "nip", "only digits"),
        ('roles = ["tim_data_center"]', "nip", "a NIP is required for the role tim_data_center"),
        (f'nip = "{NIP}"\nroles = ["boss"]', "roles", "unknown role 'boss'"),
        (f'nip = "{NIP}"\nroles = []', "roles", "at least 1"),
        (f'nip = "{NIP}"\nroles = "kepala_dinas"', "roles", "valid tuple"),
        (f'nip = "{NIP}"\nroles = ["kepala_dinas"]\nos-user = "a"', "os-user", "unknown field"),
        (
            f'nip = "{NIP}"\nroles = ["kepala_dinas"]\nos_user = "Bad User"',
            "os_user",
            "is not an OS user name",
        ),
        (
            f'nip = "{NIP}"\nroles = ["kepala_dinas"]\ndb_role = "a-b"',
            "db_role",
            "not a PostgreSQL role name",
        ),
        (f'nip = "{NIP}"\nroles = ["kepala_dinas"]\nemail = "andi"', "email", "e-mail"),
        (f'nip = "{NIP}"\nroles = ["kepala_dinas"]\nphone = "call me"', "phone", "phone number"),
        ('roles = ["opd"]', "opd", "an OPD contact names the OPD"),
        (
            f'nip = "{NIP}"\nroles = ["kepala_bidang"]\nopd = "Dinas Sosial"',
            "opd",
            "only a person with the role opd",
        ),
    ],
)
def test_a_malformed_person_is_refused_naming_file_person_and_field(
    tmp_path: Path, entry: str, field: str, message: str
) -> None:
    good = '[[people]]\nname = "Sri"\nnip = "197808252002122001"\nroles = ["kepala_bidang"]\n'
    path = _people(tmp_path, f'{good}\n[[people]]\nname = "Andi Wijaya"\n{entry}\n')
    text = _refusal(path)
    assert text.startswith(f"{path}: [[people]] #2 (Andi Wijaya): {field}: "), text
    assert message in text
    assert "#1" not in text  # the good one is not blamed


def test_every_problem_is_named_at_once_and_a_nameless_person_too(tmp_path: Path) -> None:
    path = _people(
        tmp_path,
        '[[people]]\nnip = "1"\nroles = ["opd"]\n\n[[people]]\nname = "Budi"\nroles = ["x"]\n',
    )
    text = _refusal(path)
    assert "[[people]] #1 (no name): name: missing (required)" in text
    assert "[[people]] #1 (no name): nip: 1 digits" in text
    assert "[[people]] #2 (Budi): roles: unknown role 'x'" in text
    assert text.count(str(path)) == 1  # one line, the file named once


@pytest.mark.parametrize(("field", "first", "second"), [
    ("name", 'name = "Budi"', 'name = " budi "'),
    ("nip", 'nip = "198801142011011003"', 'nip = "19880114 201101 1 003"'),
    ("os_user", 'os_user = "budi"', 'os_user = "budi"'),
    ("db_role", 'db_role = "budi"', 'db_role = "budi"'),
])  # fmt: skip
def test_a_name_nip_os_user_or_db_role_given_twice_is_refused(
    tmp_path: Path, field: str, first: str, second: str
) -> None:
    def person(n: int, line: str) -> str:
        defaults = {"name": f'name = "P{n}"', "nip": f'nip = "19880114201101100{n}"'}
        defaults[field] = line
        return "[[people]]\n" + "\n".join(defaults.values()) + '\nroles = ["tim_data_center"]\n'

    text = _refusal(_people(tmp_path, person(1, first) + person(2, second)))
    assert re.search(rf"\[\[people\]\] #2 \([^)]*\): {field}: the same as #1", text), text


def test_people_must_be_an_array_of_tables(tmp_path: Path) -> None:
    assert "[[people]] tables" in _refusal(_people(tmp_path, 'people = "Budi"\n'))
    text = _refusal(_people(tmp_path, "people = [1]\n"))
    assert "[[people]] #1 (no name): *: must be a table" in text


@pytest.mark.parametrize(("nip", "problem"), [
    ("197003121995031002", None),
    ("197003121995031", "15 digits, a NIP has 18"),
    ("19700312199503100\uff12", "only digits"),  # a full-width 2 is no ASCII digit
    ("197002301995031002", "no birth date (YYYYMMDD): 19700230"),
    ("197003121995131002", "no month of appointment (YYYYMM): 199513"),
    ("197003121995033002", "digit 15 is the sex, 1 or 2, not 3"),
])  # fmt: skip
def test_a_nip_is_checked_as_a_nip(nip: str, problem: str | None) -> None:
    found = nip_problem(nip)
    assert found == problem if problem is None else problem in (found or "")


ORGANISATION = '[organisation]\ngovernment = "Pemerintah Kota Contoh"\nunit = "Diskominfo"\n'


def test_the_organisation_names_a_missing_field_an_unknown_one_and_a_missing_logo(
    tmp_path: Path,
) -> None:
    path = _people(tmp_path, ORGANISATION + 'kota = "x"\n')
    with pytest.raises(ConfigurationError) as caught:
        load_organisation(load_config(path))
    assert str(caught.value).startswith(f"{path}: [organisation] ")
    assert "address: missing (required)" in str(caught.value)
    assert "kota: unknown field" in str(caught.value)
    path = _people(tmp_path, ORGANISATION + 'address = "Jl. Merdeka 1"\nlogo = "logo.png"\n')
    missing = r"\[organisation\] logo: no such file: .*logo.png"
    with pytest.raises(ConfigurationError, match=missing):
        load_organisation(load_config(path))
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    organisation = load_organisation(load_config(path))
    assert organisation is not None and organisation.logo == tmp_path / "logo.png"
