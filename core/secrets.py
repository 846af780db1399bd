"""The private credentials file (`credentials.toml`), read under one rule for every package:
refused unless only its owner can read it; its values never appear in a message.

Which tables mean what is up to the readers (`pelihara.collector.credentials`: [ssh], [snmp.NAME];
`pelihara.timeseries.token`: [influxdb]).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pelihara.core.config import read_toml
from pelihara.core.errors import ConfigurationError
from pelihara.core.paths import config_dir

ENV_FILE = "PELIHARA_CREDENTIALS"


def credentials_path(env: Mapping[str, str] | None = None) -> Path:
    """`PELIHARA_CREDENTIALS`, else `credentials.toml` in the configuration directory."""
    env = os.environ if env is None else env
    return Path(env.get(ENV_FILE) or config_dir() / "credentials.toml")


def read_credentials_file(path: Path) -> dict[str, Any]:
    """The file's tables ({} when there is no file); refused when group or others can read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} can be read by others (mode {stat.filemode(mode)}): run `chmod 600 {path}`"
        )
    return read_toml(path) or {}
