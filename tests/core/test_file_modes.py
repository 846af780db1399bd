"""pelihara's own files are created private (0600 files, 0700 directories) wherever they are
put: the umask of the shell or cron that runs pelihara would make them readable by all."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pelihara.core.paths import attachments_dir
from pelihara.timeseries import open_store
from pelihara.timeseries.base import Point
from pelihara.timeseries.spool import Spool


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_spool_file_is_private(tmp_path: Path) -> None:
    """The spool holds the points not yet sent (before: 0644, in a 0755 directory)."""
    path = tmp_path / "agent" / "spool" / "spool.db"
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with Spool(path, store) as spool:
        spool.add([Point("cpu", {"host": "h"}, {"usage": 1.0}, 1_700_000_000_000_000_000)])
        assert _mode(Path(f"{path}-wal")) == 0o600
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700


def test_attachments_directory_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    assert attachments_dir() == tmp_path / "home" / "attachments"
    assert _mode(attachments_dir()) == 0o700 and _mode(tmp_path / "home") == 0o700
