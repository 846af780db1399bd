"""Several writers at once (issue 10, 2): appends are serialised in the writer's transaction,
and a writer that cannot get in says so with status 75; never a duplicate key, status 6."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from pelihara.core.errors import BusyError, PeliharaError
from pelihara.inventory.audit_key import AuditKey
from pelihara.inventory.audit_report import check
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.locking import ADVISORY_KEY
from tests.inventory.conftest import HEADER

WRITERS = 8
SERVERS_EACH = 20
COLUMNS = f"{HEADER},site,serial"


def _rows(writer: int) -> str:
    new = (f"w{writer}-s{i},10.{writer}.0.{i},s{i}.w{writer}.go.id,Dinas Bersama,DC-1,"
           for i in range(1, SERVERS_EACH + 1))  # fmt: skip
    shared = f"shared1,10.99.0.1,shared.go.id,Dinas Bersama,,S-{writer}"  # each one updates it
    return "\n".join([COLUMNS, *new, shared]) + "\n"


def _write(url: str, path: str, writer: int, barrier: Any, results: Any) -> None:
    """One writer, in its own process: all start their import at the same moment."""
    engine = make_engine(url)
    barrier.wait()
    try:
        import_file(session_factory(engine), Path(path), f"writer{writer}")
        results.put((writer, "ok"))
    except PeliharaError as exc:
        results.put((writer, f"{type(exc).__name__} (status {exc.exit_code}): {exc}"))
    finally:
        engine.dispose()


def test_eight_writers_at_once_all_succeed_and_the_chain_is_whole(
    db_url: str, factory: sessionmaker[Session], write: Callable[..., Path], audit_key: str
) -> None:
    shared = f"{HEADER}\nshared1,10.99.0.1,shared.go.id,Dinas Bersama\n"
    import_file(factory, write("shared.csv", shared), "setup")
    files = [write(f"w{n}.csv", _rows(n)) for n in range(WRITERS)]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WRITERS), context.Queue()
    processes = [
        context.Process(target=_write, args=(db_url, str(path), n, barrier, results))
        for n, path in enumerate(files)
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert outcomes == dict.fromkeys(range(WRITERS), "ok")
    with transaction(factory, commit=False) as session:
        report = check(session, AuditKey(audit_key, "test"), state=True)
    assert report.problems() == []  # every update found shared1 as the entry before left it
    # opd + shared1, then the site once, and each writer's servers and its update of shared1
    assert report.ok and report.chain.checked == 2 + 1 + WRITERS * (SERVERS_EACH + 1)


@contextmanager
def _lock_held(url: str) -> Iterator[None]:
    """Another writer in the middle of its change: the database's write lock held."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        holder = sqlite3.connect(str(parsed.database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
        return
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
        yield
        connection.rollback()
    engine.dispose()


def _entries(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def test_a_writer_that_cannot_get_in_says_the_database_is_busy(
    db_url: str, engine: Engine, write: Callable[..., Path]
) -> None:
    impatient = session_factory(make_engine(db_url, busy_wait=0.3))
    path = write("a.csv", f"{HEADER}\nweb1,10.0.0.1,w.go.id,D\n")
    with _lock_held(db_url), pytest.raises(BusyError) as raised:
        import_file(impatient, path, "tester")
    assert str(raised.value).startswith("the database is busy: another change is being written")
    assert raised.value.exit_code == 75
    assert _entries(engine) == 0
    import_file(impatient, path, "tester")  # the lock released: in at once
    assert _entries(engine) == 2


def test_cli_busy_status_and_the_configured_wait(
    db_url: str, engine: Engine, run: Callable[..., Result], write: Callable[..., Path],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    config = tmp_path / "pelihara.toml"
    config.write_text("[database]\nbusy_wait_seconds = 0.3\n", encoding="utf-8")
    monkeypatch.setenv("PELIHARA_CONFIG", str(config))
    path = str(write("a.csv", f"{HEADER}\nweb1,10.0.0.1,w.go.id,D\n"))
    with _lock_held(db_url):
        busy = run("inventory", "import", path)
        assert run("audit", "verify").exit_code == 0  # readers are not held up
    assert busy.exit_code == 75
    assert "the database is busy: another change is being written" in busy.stderr
    assert "Traceback" not in busy.output and _entries(engine) == 0
    config.write_text("[database]\nbusy_wait_seconds = 0\n", encoding="utf-8")
    wrong = run("inventory", "import", path)
    assert wrong.exit_code == 2 and "busy_wait_seconds must be a number above 0" in wrong.stderr
