"""`verify --ticket` and `snapshot take --ticket`: a reference of a ticket's form must be an
open ticket; other text is still taken, as free text, with a warning. This machine is the
server (`--probe local`), on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from tests.maintenance.machine import ME, this_machine
from tests.maintenance.test_tickets import LETTER


@pytest.fixture
def pelihara(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    config = this_machine(db_url, factory, tmp_path, monkeypatch)

    def invoke(*args: str) -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": ""}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    return invoke


def _ticket(pelihara: Callable[..., Result]) -> str:
    result = pelihara("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
                      "--summary", "Ganti disk")  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _runs(pelihara: Callable[..., Result], reference: str) -> list[object]:
    found = pelihara("verify", "list", "--ticket", reference, "--format", "json")
    return list(json.loads(found.output or "[]"))


def _snapshots(pelihara: Callable[..., Result], reference: str) -> list[object]:
    found = pelihara("snapshot", "list", "--ticket", reference, "--format", "json")
    return list(json.loads(found.output or "[]"))


def test_an_open_ticket_is_taken_by_verify_and_snapshot(pelihara: Callable[..., Result]) -> None:
    reference = _ticket(pelihara)
    result = pelihara("verify", "run", ME, "--probe", "local", "--ticket", reference)
    assert result.exit_code in (0, 1), result.output  # mismatches may be found, never refused
    assert len(_runs(pelihara, reference)) == 1
    result = pelihara("snapshot", "take", ME, "--probe", "local", "--ticket", reference,
                      "--phase", "pre")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(_snapshots(pelihara, reference)) == 1


def test_an_unknown_or_closed_ticket_is_refused_and_nothing_is_run(
    pelihara: Callable[..., Result], engine: Engine
) -> None:
    for command in (("verify", "run"), ("snapshot", "take")):
        result = pelihara(*command, ME, "--probe", "local", "--ticket", "2026/0042")
        assert result.exit_code == 7 and "no ticket '2026/0042'" in result.output
    reference = _ticket(pelihara)
    with engine.begin() as connection:
        connection.execute(text("UPDATE ticket SET status = 'done' WHERE reference = :r"),
                           {"r": reference})  # fmt: skip
    for command in (("verify", "run"), ("snapshot", "take")):
        result = pelihara(*command, ME, "--probe", "local", "--ticket", reference)
        assert result.exit_code == 2
        assert f"ticket {reference} is done" in result.output
    assert _runs(pelihara, "2026/0042") == [] and _runs(pelihara, reference) == []
    assert _snapshots(pelihara, reference) == []


def test_a_reference_from_before_tickets_is_taken_as_free_text_with_a_warning(
    pelihara: Callable[..., Result],
) -> None:
    result = pelihara("verify", "run", ME, "--probe", "local", "--ticket", "2026/041")
    assert result.exit_code in (0, 1), result.output
    assert "'2026/041' is not a ticket reference" in result.output
    assert len(_runs(pelihara, "2026/041")) == 1
