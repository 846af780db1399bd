"""Where pelihara keeps its files: XDG directories, or one PELIHARA_HOME for all.

>>> data_dir()                      # doctest: +SKIP
PosixPath('/home/ops/.local/share/pelihara')
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

APP = "pelihara"


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    # The XDG spec says relative values are invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def _home() -> Path | None:
    value = os.environ.get("PELIHARA_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Directory of `pelihara.toml` and `credentials.toml`."""
    return _home() or _xdg("XDG_CONFIG_HOME", ".config") / APP


def data_dir() -> Path:
    """Directory of the database, the embedded time-series store, the spool, attachments."""
    return _home() or _xdg("XDG_DATA_HOME", ".local/share") / APP


def default_database_url() -> str:
    """The SQLite file used when neither `--db` nor `PELIHARA_DB` names a database."""
    return f"sqlite:///{data_dir() / 'pelihara.db'}"


def database_url(explicit: str | None = None) -> str:
    """Database URL by precedence: explicit (`--db`), `PELIHARA_DB`, the default file."""
    return explicit or os.environ.get("PELIHARA_DB") or default_database_url()


def private_directory(path: Path) -> Path:
    """PATH, created 0700 unless it exists; so is every parent that this creates."""
    for directory in reversed([path, *path.parents]):
        if not directory.is_dir():
            with suppress(FileExistsError):
                directory.mkdir(mode=0o700)
    return path


def private_file(path: Path) -> Path:
    """PATH, created empty and 0600 (its directory 0700) unless it exists.

    For the SQLite files (database, spool): SQLite creates a file with the umask's mode,
    usually 0644, readable by every user; its -wal and -shm files take the mode of the
    database file. An empty file is a valid empty database.
    """
    private_directory(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def attachments_dir() -> Path:
    """Directory of the tickets' attachments (photos, signed forms), created 0700."""
    return private_directory(data_dir() / "attachments")
