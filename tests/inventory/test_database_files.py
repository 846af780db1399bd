"""The database at the edges: its file's mode, a read-only copy, bad URLs.

The read-only copy is tried two real ways, with the `pelihara` command in a subprocess:
as root on a tmpfs remounted read-only (the kernel refuses every write, EROFS: what a
CD-ROM or a read-only USB stick gives an auditor), and as the unprivileged user `sshtest` on
a 0444 file in a 0555 directory (root would ignore those modes).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pelihara import migrations
from pelihara.cli.main import cli
from pelihara.inventory.db import make_engine
from tests.inventory.conftest import EXAMPLE
from tests.realservers.base import missing, require_root
from tests.realservers.sshd import USERNAME, require_user

PELIHARA = str(Path(sys.executable).parent / "pelihara")
READERS = (
    ("inventory", "list", "--format", "json"),
    ("inventory", "show", "dinkes-web01", "--format", "json"),
    ("audit", "verify"),
    ("audit", "log", "--limit", "3"),
    ("verify", "list"),
    ("verify", "show", "1", "--format", "json"),
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# The command for another user: this venv's packages on an interpreter that user may run
# (the venv's own may live under a 0700 home, as pyenv's under /root does).
AS_USER = (
    f"import site, sys; site.addsitedir({sysconfig.get_paths()['purelib']!r}); "
    "from pelihara.cli.main import main; sys.argv[0] = 'pelihara'; main()"
)


def _python_for(user: str) -> str:
    """An interpreter of this Python version that USER can run: the venv's, or Debian's."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    check = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    for python in (sys.executable, f"/usr/bin/python{version}"):
        argv = ["runuser", "-u", user, "--", python, "-c", check]
        probe = subprocess.run(argv, capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return python
    missing(f"no python{version} that the user {user} may run")
    raise AssertionError("unreachable")


def _pelihara(url: str, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """`pelihara --db URL ARGS...` in a subprocess, as USER (default: this one)."""
    env = {**os.environ, "PELIHARA_HOME": "/nonexistent/pelihara-home", "PELIHARA_DB": url}
    argv = [PELIHARA, *args]
    if user is not None:
        argv = ["runuser", "-u", user, "--", _python_for(user), "-c", AS_USER, *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the example inventory and one verification run, closed cleanly."""
    path = tmp_path_factory.mktemp("populated") / "pelihara.db"
    url = f"sqlite:///{path}"
    # The run asks a DNS server that is not there (--probe local is for this machine only).
    dns = ("--probe", "dns", "--resolver", "127.0.0.1:9", "--timeout", "0.2")
    for args in (("init",), ("inventory", "import", str(EXAMPLE)),
                 ("verify", "dinkes-web01", *dns)):  # fmt: skip
        result = CliRunner().invoke(cli, ["--db", url, *args])
        assert result.exit_code in (0, 4), result.output + result.stderr  # verify: unreached
    assert not Path(f"{path}-wal").exists()  # closed cleanly: one file
    return path


@contextmanager
def _world_readable_dir() -> Iterator[Path]:
    """A 0755 directory outside pytest's 0700 tmp dirs, so that another user can reach it."""
    directory = Path(tempfile.mkdtemp(prefix="pelihara-test-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        for path in (directory, *directory.rglob("*")):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(directory)


@contextmanager
def _read_only_medium(files: dict[str, Path]) -> Iterator[Path]:
    """A tmpfs holding FILES (name -> source), remounted read-only; unmounted at the end."""
    require_root("mounting a tmpfs")
    with _world_readable_dir() as directory:
        argv = ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(directory)]
        mount = subprocess.run(argv, capture_output=True, text=True, check=False)
        if mount.returncode != 0:
            missing(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
        try:
            for name, source in files.items():
                shutil.copyfile(source, directory / name)
            subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True)
            yield directory
        finally:
            subprocess.run(["umount", str(directory)], check=True)


def _assert_readers_work(url: str, user: str | None = None) -> None:
    for args in READERS:
        result = _pelihara(url, *args, user=user)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    listed = json.loads(_pelihara(url, "inventory", "list", "--format", "json", user=user).stdout)
    assert len(listed) == 50
    assert "audit log intact" in _pelihara(url, "audit", "verify", user=user).stdout


def test_read_only_medium_serves_the_reading_commands(populated: Path, tmp_path: Path) -> None:
    """An auditor's copy on a read-only file system: every reading command works (before: "unable
    to open database file"); a writing one fails in one line naming the file and the cause."""
    with _read_only_medium({"pelihara.db": populated}) as medium:
        url = f"sqlite:///{medium / 'pelihara.db'}"
        _assert_readers_work(url)
        exported = _pelihara(url, "inventory", "export", str(tmp_path / "out.csv"))
        assert exported.returncode == 0, exported.stderr
        assert len((tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()) == 51

        writing = _pelihara(url, "inventory", "import", str(EXAMPLE))
        assert writing.returncode == 6
        [line] = writing.stderr.splitlines()
        assert str(medium / "pelihara.db") in line and "read-only" in line
        assert sorted(p.name for p in medium.iterdir()) == ["pelihara.db"]  # nothing created


def test_read_only_file_for_another_user(populated: Path) -> None:
    """The same copy as a 0444 file in a 0555 directory, read by the unprivileged `sshtest`."""
    require_root("switching to another user")
    require_user()
    with _world_readable_dir() as outer:
        directory = outer / "copy"
        directory.mkdir()
        shutil.copyfile(populated, directory / "pelihara.db")
        (directory / "pelihara.db").chmod(0o444)
        directory.chmod(0o555)
        url = f"sqlite:///{directory / 'pelihara.db'}"
        _assert_readers_work(url, user=USERNAME)
        writing = _pelihara(url, "inventory", "import", str(EXAMPLE), user=USERNAME)
        assert writing.returncode == 6
        [line] = writing.stderr.splitlines()
        assert str(directory / "pelihara.db") in line and "read-only" in line


def test_copy_with_changes_left_in_its_wal_is_refused_rather_than_read_stale(
    populated: Path, tmp_path: Path
) -> None:
    """Copied while a writer had changes in the -wal file, without the -shm: SQLite's immutable
    mode would read the main file alone and miss them; pelihara says so instead."""
    live = tmp_path / "live.db"
    shutil.copyfile(populated, live)
    writer = sqlite3.connect(live)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE server SET notes = 'changed' WHERE hostname = 'dinkes-web01'")
    writer.commit()
    assert Path(f"{live}-wal").stat().st_size > 0
    files = {"pelihara.db": live, "pelihara.db-wal": Path(f"{live}-wal")}
    with _read_only_medium(files) as medium:
        result = _pelihara(f"sqlite:///{medium / 'pelihara.db'}", "inventory", "list")
    writer.close()
    assert result.returncode == 6
    [line] = result.stderr.splitlines()
    assert "pelihara.db-wal" in line and "pelihara.db-shm" in line


def test_reading_a_database_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none' / 'pelihara.db'}"
    result = CliRunner().invoke(cli, ["--db", url, "inventory", "list"])
    assert result.exit_code == 6 and "not initialised: run `pelihara init`" in result.stderr
    assert not (tmp_path / "none").exists()


def test_read_only_engine_refuses_writes(db_url: str) -> None:
    """Opened read-only, on SQLite and PostgreSQL, the database refuses a write."""
    migrations.upgrade(make_engine(db_url))
    engine = make_engine(db_url, read_only=True)
    try:
        migrations.require_current(engine)
        with pytest.raises(SQLAlchemyError, match=r"read-?only"), engine.begin() as connection:
            connection.execute(text("INSERT INTO opd (name) VALUES ('x')"))
    finally:
        engine.dispose()


def test_database_file_is_private_wherever_it_is_put(tmp_path: Path) -> None:
    """Outside the default home too: the file 0600 (its -wal alike), its new directory 0700;
    before, SQLite created it with the umask's 0644, readable by every user."""
    old = os.umask(0o022)
    try:
        path = tmp_path / "elsewhere" / "pelihara.db"
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{path}", "init"])
        assert result.exit_code == 0, result.stderr
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as connection:  # an open connection keeps the -wal file
            connection.execute(text("SELECT 1"))
            assert _mode(Path(f"{path}-wal")) == 0o600
        engine.dispose()
    finally:
        os.umask(old)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://dc:s3cret@db.example:notaport/inventory",
         "not a database URL: postgresql://dc:***@db.example:notaport/inventory: the port is "
         "not a number"),
        ("mysql://dc:s3cret@db.example/inventory",
         "pelihara does not work with mysql databases: mysql://dc:***@db.example/inventory"),
        ("no-scheme-at-all", "not a database URL: no-scheme-at-all: cannot be parsed"),
    ],
)  # fmt: skip
def test_bad_database_url_is_one_line_naming_it_masked(url: str, said: str) -> None:
    result = CliRunner().invoke(cli, ["--db", url, "inventory", "list"])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert said in line and "s3cret" not in line
    assert "sqlite:///PATH" in line and "postgresql://USER@HOST:PORT/DB" in line
    assert "install" not in line
