"""A scan's database work runs on a worker thread: another writer holding the database
stalls the writes, never the scan (issue 10, 2)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pelihara import migrations
from pelihara.collector.runs import HostOutcome, load_run
from pelihara.collector.verify import VerifyRequest, run_verify
from pelihara.inventory import audit
from pelihara.inventory.db import make_engine, session_factory, transaction
from pelihara.inventory.importer import import_file
from tests.collector.where import where

HOSTS = ("pltest-a", "pltest-b", "pltest-c")


def test_a_held_database_does_not_stop_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "verify.db"
    engine = make_engine(f"sqlite:///{path}", busy_wait=5.0)
    migrations.upgrade(engine)
    factory = session_factory(engine)
    rows = "\n".join(f"{h},127.0.0.{i},{h}.test.lab,Dinas Uji" for i, h in enumerate(HOSTS, 1))
    (tmp_path / "hosts.csv").write_text(f"hostname,ip,domain,opd\n{rows}\n", encoding="utf-8")
    import_file(factory, tmp_path / "hosts.csv", "tester")
    monkeypatch.setattr("pelihara.collector.verify.WRITE_SECONDS", 0.0)  # each host written

    other_writer = sqlite3.connect(path, isolation_level=None, timeout=10)
    seen: list[str] = []

    def on_host(outcome: HostOutcome) -> None:
        """Runs in the scan's loop: the database is taken after the first host and given
        back only when the loop has seen every host, which it could not while it waited."""
        seen.append(outcome.expected.hostname)
        if len(seen) == 1:
            other_writer.execute("BEGIN IMMEDIATE")
        if len(seen) == len(HOSTS):
            other_writer.rollback()

    request = VerifyRequest(hosts=HOSTS, probes=("local",), concurrency=1)
    report = run_verify(where(factory), request, "tester", on_host=on_host)
    other_writer.close()
    assert sorted(seen) == sorted(HOSTS)
    with transaction(factory, commit=False) as session:
        run = load_run(session, report.run_id)
        assert (run.hosts_done, run.finished_at is not None) == (len(HOSTS), True)
        assert audit.verify(session).ok and audit.count(session) == 1 + len(HOSTS) + 1
    engine.dispose()
