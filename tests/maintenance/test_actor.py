"""Who acts is established, not claimed: the OS user running the tests (root in CI) and, on
the real PostgreSQL test server, the session's login role map to the configured person;
anyone else, the wrong role and a free --actor are refused."""

from __future__ import annotations

import json
import os
import pwd
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pelihara.cli.main import cli
from pelihara.core.config import load_config
from pelihara.maintenance.actor import (
    Identity,
    NotAllowedError,
    establish,
    identity,
    on_behalf_of,
    recorded_text,
    refuse_free_actor,
    require_role,
    running_os_user,
    session_db_role,
)
from pelihara.maintenance.people import People, load_people

ME = pwd.getpwuid(os.geteuid()).pw_name  # root in CI


def _config(tmp_path: Path, os_user: str = ME, db_role: str = "pltest_budi") -> Path:
    path = tmp_path / "pelihara.toml"
    path.write_text(f"""
[[people]]
name = "Dr. Andi Wijaya"
nip = "19700312 199503 1 002"
roles = ["kepala_dinas"]
os_user = "andi"

[[people]]
name = "Budi Santoso"
nip = "198801142011011003"
roles = ["tim_data_center", "kepala_bidang"]
os_user = "{os_user}"
db_role = "{db_role}"

[[people]]
name = "Maya Kusuma"
roles = ["opd"]
opd = "Dinas Kesehatan"
""", encoding="utf-8")  # fmt: skip
    return path


def _people(tmp_path: Path, **mapping: str) -> People:
    return load_people(load_config(_config(tmp_path, **mapping)))


def test_the_os_user_is_the_effective_uid_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("USER", "andi")
    monkeypatch.setenv("LOGNAME", "andi")  # what getpass.getuser() would believe
    assert running_os_user() == ME
    assert identity() == Identity(ME)


def test_the_os_user_running_the_command_is_the_configured_person(tmp_path: Path) -> None:
    people = _people(tmp_path)
    assert establish(people, identity()).name == "Budi Santoso"


def test_someone_not_in_the_configuration_is_refused(tmp_path: Path) -> None:
    people = _people(tmp_path, os_user="pltest-nobody")
    with pytest.raises(NotAllowedError) as caught:
        establish(people, identity())
    assert str(caught.value).startswith(
        f"you (OS user {ME}) are not in pelihara.toml's people ({people.path}): someone not "
        "in the configuration cannot advance a ticket"
    )
    assert caught.value.exit_code == 2


def test_the_wrong_role_is_refused_naming_role_person_and_roles(tmp_path: Path) -> None:
    budi = establish(_people(tmp_path), identity())
    require_role(budi, "kepala_bidang", 10)  # held: no refusal
    with pytest.raises(NotAllowedError) as caught:
        require_role(budi, "kepala_dinas", 11)
    assert str(caught.value) == (
        "step 11 is done by the Kepala Dinas (role kepala_dinas); Budi Santoso holds "
        "tim_data_center, kepala_bidang, not kepala_dinas"
    )


def test_a_free_actor_is_refused_for_a_ticket_step() -> None:
    refuse_free_actor(None, 3)
    refuse_free_actor("", 3)
    with pytest.raises(
        NotAllowedError,
        match=r"--actor \(or PELIHARA_ACTOR\) 'Kepala Dinas' "
        r"is not taken for step 11 of a ticket.*--on-behalf-of NAME --attach",
    ):
        refuse_free_actor("Kepala Dinas", 11)


def test_on_behalf_of_resolves_a_name_or_nip_to_the_role_holder_and_keeps_both(
    tmp_path: Path,
) -> None:
    people = _people(tmp_path)
    budi = establish(people, identity())
    by_name = on_behalf_of(people, budi, " dr. andi  wijaya", "kepala_dinas", 11, ["scan.pdf"])
    by_nip = on_behalf_of(people, budi, "197003121995031002", "kepala_dinas", 11, ["scan.pdf"])
    assert by_name == by_nip
    assert by_name.as_dict() == {
        "recorded_by": "Budi Santoso", "recorded_by_nip": "198801142011011003",
        "on_behalf_of": "Dr. Andi Wijaya", "on_behalf_of_nip": "197003121995031002",
    }  # fmt: skip
    assert recorded_text(by_name) == "dicatat oleh Budi Santoso atas nama Dr. Andi Wijaya"
    assert recorded_text(by_name, "en") == "recorded by Budi Santoso on behalf of Dr. Andi Wijaya"


@pytest.mark.parametrize(("name", "role", "scans", "message"), [
    ("Pak Kadis", "kepala_dinas", ["s"], "'Pak Kadis': no such person in pelihara.toml "
     r"\(.*\); the Kepala Dinas \(role kepala_dinas\) there: Dr. Andi Wijaya"),
    ("Maya Kusuma", "kepala_dinas", ["s"], r"step 11 is done by the Kepala Dinas .* Maya "
     "Kusuma holds opd"),
    ("Budi Santoso", "kepala_bidang", ["s"], "names you: record step 11 yourself"),
    ("Dr. Andi Wijaya", "kepala_dinas", [], "needs the signed paper: --attach SCAN"),
])  # fmt: skip
def test_on_behalf_of_refuses_an_unknown_name_the_wrong_role_oneself_and_no_scan(
    tmp_path: Path, name: str, role: str, scans: list[str], message: str
) -> None:
    people = _people(tmp_path)
    budi = establish(people, identity())
    with pytest.raises(NotAllowedError, match=message):
        on_behalf_of(people, budi, name, role, 11, scans)


# --- the command ---------------------------------------------------------------------------


def _run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"PELIHARA_CONFIG": str(config)})
    return result.exit_code, result.stdout, result.stderr


def test_people_lists_the_configured_and_marks_you(tmp_path: Path) -> None:
    code, out, _ = _run(_config(tmp_path), "people", "--format", "json")
    assert code == 0
    found = {p["name"]: p for p in json.loads(out)}
    assert [name for name, p in found.items() if p["you"]] == ["Budi Santoso"]
    assert found["Maya Kusuma"]["opd"] == "Dinas Kesehatan"
    code, out, _ = _run(_config(tmp_path), "people")
    assert code == 0 and "Budi Santoso" in out and "os_user andi" in out


def test_whoami_says_who_or_why_not(tmp_path: Path) -> None:
    code, out, _ = _run(_config(tmp_path), "people", "whoami")
    assert (code, out) == (0, "Budi Santoso, NIP 198801142011011003: Tim Data Center, Kepala "
                           "Bidang (tim_data_center, kepala_bidang); known by OS user "
                           f"{ME}\n")  # fmt: skip
    code, out, err = _run(_config(tmp_path, os_user="pltest-nobody"), "people", "whoami")
    assert code == 2 and out == ""
    assert f"you (OS user {ME}) are not in pelihara.toml's people" in err
    code, out, err = _run(_config(tmp_path, os_user="pltest-nobody"), "people")
    assert code == 0 and "you (OS user" in err  # the list still shows, and why no one is you


def test_a_malformed_person_stops_the_command_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "pelihara.toml"
    path.write_text('[[people]]\nname = "Budi"\nnip = "1988"\nroles = ["tim_data_center"]\n',
                    encoding="utf-8")  # fmt: skip
    code, _, err = _run(path, "people", "whoami")
    assert code == 2
    assert f"{path}: [[people]] #1 (Budi): nip: 4 digits, a NIP has 18" in err


# --- PostgreSQL: the session's login role ---------------------------------------------------


@pytest.fixture
def login_role(postgresql_url: str) -> Iterator[str]:
    """A fresh LOGIN role on the real test server, and a role it may SET ROLE to; dropped after."""
    name = f"pltest_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        connection.execute(text(f'CREATE ROLE "{name}_other"'))
        connection.execute(text(f'GRANT "{name}_other" TO "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP ROLE "{name}_other"'))
            connection.execute(text(f'DROP ROLE "{name}"'))
        admin.dispose()


def _as(postgresql_url: str, role: str) -> str:
    return make_url(postgresql_url).set(username=role).render_as_string(hide_password=False)


@pytest.mark.postgresql
def test_the_database_login_role_is_the_configured_person(
    postgresql_url: str, login_role: str, tmp_path: Path
) -> None:
    people = _people(tmp_path, os_user=ME, db_role=login_role)
    engine = create_engine(_as(postgresql_url, login_role))
    try:
        with Session(engine) as session:
            assert session_db_role(session) == login_role
            assert establish(people, identity(session)).name == "Budi Santoso"
            session.execute(text(f'SET ROLE "{login_role}_other"'))  # cannot change who it is
            assert session_db_role(session) == login_role
        with engine.connect() as connection:
            assert identity(connection) == Identity(ME, login_role)
    finally:
        engine.dispose()
    code, out, _ = _run(_config(tmp_path, db_role=login_role), "--db",
                        _as(postgresql_url, login_role), "people", "whoami")  # fmt: skip
    assert code == 0, out
    assert out.endswith(f"known by database role {login_role}, OS user {ME}\n")


@pytest.mark.postgresql
def test_another_login_role_or_another_os_user_is_refused(
    postgresql_url: str, login_role: str, tmp_path: Path
) -> None:
    engine = create_engine(postgresql_url)  # as postgres: mapped to no one
    try:
        with engine.connect() as connection:
            who = identity(connection)
    finally:
        engine.dispose()
    with pytest.raises(
        NotAllowedError,
        match=r"you \(database role postgres, OS user .*\) are "
        "not in pelihara.toml's people",
    ):
        establish(_people(tmp_path, db_role=login_role), who)
    someone_else = _people(tmp_path, os_user="pltest-other", db_role=login_role)
    with pytest.raises(
        NotAllowedError,
        match=r"connect as Budi Santoso's database role, but .* "
        r"gives Budi Santoso the OS user pltest-other",
    ):
        establish(someone_else, Identity(ME, login_role))
