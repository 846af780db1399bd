"""The configuration file `pelihara.toml`: settings that are not secrets.

It lives in the configuration directory (`core.paths.config_dir`), or where
`PELIHARA_CONFIG` names. A missing file is an empty configuration; a file that is not
valid TOML is an error that names the file, line and column. Its tables are for the
packages that own them (`[organisation]` and `[[people]]`: `maintenance/organisation.py`,
`maintenance/people.py`; `[display]`: `core/times.py`):

    [organisation]
    government = "Pemerintah Kota Contoh"
    unit = "Dinas Komunikasi dan Informatika"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pelihara.core.errors import ConfigurationError
from pelihara.core.paths import config_dir

ENV_FILE = "PELIHARA_CONFIG"
FILE_NAME = "pelihara.toml"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """`PELIHARA_CONFIG`, else `pelihara.toml` in the configuration directory."""
    env = os.environ if env is None else env
    return Path(env.get(ENV_FILE) or config_dir() / FILE_NAME)


@dataclass(frozen=True)
class Config:
    """The file's tables, read-only; `path` says where they came from (or would have)."""

    path: Path
    tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def table(self, name: str) -> Mapping[str, Any]:
        """The table NAME ({} when absent); a NAME that is a value, not a table, is an error."""
        value = self.tables.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"{self.path}: [{name}] must be a table, not a value")
        return value


def load_config(path: Path | None = None) -> Config:
    """The configuration at PATH (default `config_path()`): missing is empty, malformed an error."""
    path = config_path() if path is None else path
    tables = read_toml(path)
    return Config(path, MappingProxyType(tables if tables is not None else {}))


def read_toml(path: Path) -> dict[str, Any] | None:
    """PATH's tables, or None when there is no such file; errors name the file and the line.

    The messages never quote the file's content (the credentials file goes through here).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be read: {exc.strerror}") from None
    return parse_toml(data, path)


def parse_toml(data: bytes, path: Path) -> dict[str, Any]:
    """DATA, the content of PATH, as TOML; errors name the file and the line, never a value."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message names line and column ("(at line 3, column 7)"), not the value.
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
