"""The audit key: written by `init` into a 0600 credentials file (never over one), read from
the environment first, required to append, never shown or stored."""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import Engine

from pelihara.inventory.audit_key import AuditKey, load_key
from tests.inventory.conftest import HEADER

Run = Callable[..., Result]
OTHER_KEY = "another-key-that-did-not-sign-this-log-0123456789"


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key in the environment; configuration (and credentials.toml) in HOME."""
    monkeypatch.delenv("PELIHARA_AUDIT_KEY")
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _key_in(path: Path) -> str:
    key = tomllib.loads(path.read_text(encoding="utf-8"))["audit"]["key"]
    assert isinstance(key, str)
    return key


def _csv(write: Callable[..., Path], name: str = "a.csv", host: int = 1) -> str:
    return str(write(name, f"{HEADER}\nweb{host},10.0.0.{host},w.go.id,D\n"))


def _entries(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_writes_a_key_into_a_new_0600_file_once(
    run: Run, home: Path, engine: Engine, write: Callable[..., Path]
) -> None:
    credentials = home / "credentials.toml"
    first = run("init")
    assert first.exit_code == 0
    assert f"audit key: new, written to {credentials} [audit] key" in first.stdout
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    key = _key_in(credentials)
    assert len(key) == 64 and key not in first.output
    again = run("init")
    assert again.exit_code == 0 and "audit key" not in again.stdout
    assert _key_in(credentials) == key  # never overwritten
    assert run("inventory", "import", _csv(write)).exit_code == 0
    database = Path(str(engine.url.database)).read_bytes()
    assert key.encode() not in database
    for command in (("audit", "verify"), ("audit", "log", "--format", "json")):
        assert key not in run(*command).output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_adds_the_key_to_an_existing_file_and_keeps_it(run: Run, home: Path) -> None:
    home.mkdir()
    credentials = home / "credentials.toml"
    credentials.write_text('[ssh]\nkey_file = "~/.ssh/id"', encoding="utf-8")  # no last newline
    credentials.chmod(0o600)
    assert run("init").exit_code == 0
    tables = tomllib.loads(credentials.read_text(encoding="utf-8"))
    assert tables["ssh"] == {"key_file": "~/.ssh/id"} and len(tables["audit"]["key"]) == 64


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_adds_the_key_to_an_audit_table_without_one(run: Run, home: Path) -> None:
    home.mkdir()
    credentials = home / "credentials.toml"
    credentials.write_text("[audit]  # ours\n\n[ssh]\nuse_agent = true\n", encoding="utf-8")
    credentials.chmod(0o600)
    assert run("init").exit_code == 0
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    tables = tomllib.loads(credentials.read_text(encoding="utf-8"))
    assert tables["ssh"] == {"use_agent": True} and len(tables["audit"]["key"]) == 64


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_refuses_a_credentials_file_others_can_read(run: Run, home: Path) -> None:
    home.mkdir()
    (home / "credentials.toml").write_text("[ssh]\n", encoding="utf-8")
    (home / "credentials.toml").chmod(0o644)
    result = run("init")
    assert result.exit_code == 2 and "chmod 600" in result.stderr


def test_the_environment_key_comes_first_and_init_writes_none(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch, audit_key: str
) -> None:
    monkeypatch.setenv("PELIHARA_AUDIT_KEY", audit_key)
    result = run("init")
    assert result.exit_code == 0 and "audit key" not in result.stdout
    assert not (home / "credentials.toml").exists()
    loaded = load_key()
    assert isinstance(loaded, AuditKey) and loaded.source == "PELIHARA_AUDIT_KEY"
    assert audit_key not in repr(loaded) + str(loaded)


def test_nothing_is_appended_without_a_key(
    run: Run, home: Path, engine: Engine, write: Callable[..., Path]
) -> None:
    result = run("inventory", "import", _csv(write))
    assert result.exit_code == 2
    assert "no audit key: run `pelihara init`" in result.stderr
    assert _entries(engine) == 0


def test_a_short_key_is_refused_without_showing_it(
    run: Run, monkeypatch: pytest.MonkeyPatch, write: Callable[..., Path]
) -> None:
    monkeypatch.setenv("PELIHARA_AUDIT_KEY", "short-secret")
    result = run("inventory", "import", _csv(write))
    assert result.exit_code == 2 and "at least 32 characters" in result.stderr
    assert "short-secret" not in result.output


def test_a_writer_with_another_key_writes_nothing(
    run: Run, monkeypatch: pytest.MonkeyPatch, engine: Engine, write: Callable[..., Path]
) -> None:
    assert run("inventory", "import", _csv(write)).exit_code == 0
    monkeypatch.setenv("PELIHARA_AUDIT_KEY", OTHER_KEY)
    result = run("inventory", "import", _csv(write, "b.csv", 2))
    assert result.exit_code == 2
    assert "did not sign the log's latest entry (2)" in result.stderr
    assert OTHER_KEY not in result.output
    assert _entries(engine) == 2
    assert run("init").exit_code == 2  # init says the same of the key


def test_init_makes_no_new_key_for_a_log_signed_elsewhere(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch, audit_key: str,
    write: Callable[..., Path],
) -> None:  # fmt: skip
    monkeypatch.setenv("PELIHARA_AUDIT_KEY", audit_key)
    assert run("inventory", "import", _csv(write)).exit_code == 0
    monkeypatch.delenv("PELIHARA_AUDIT_KEY")
    result = run("init")
    assert result.exit_code == 2
    assert "signed with a key this machine does not have" in result.stderr
    assert not (home / "credentials.toml").exists()
