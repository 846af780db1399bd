"""This machine as the one server of an OPD's ticket, and the people who act on it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pelihara.inventory.importer import import_file
from tests.maintenance.test_tickets import _people

ME = socket.gethostname().split(".")[0].lower()


def this_machine(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Put this machine in the inventory as the server of `Dinas Uji`, with a private
    PELIHARA_HOME; the path of a pelihara.toml naming the people (Budi: tim_data_center)."""
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    path = tmp_path / "inventory.csv"
    path.write_text(f"hostname,ip,domain,opd\n{ME},127.0.0.1,{ME}.test.lab,Dinas Uji\n")
    import_file(factory, path, "tester")
    return _people(tmp_path, make_url(db_url).username or "postgres")
