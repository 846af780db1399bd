"""The private credentials file (`credentials.toml`), read under one rule for every package:
refused unless only its owner can read it; its values never appear in a message.

Which tables mean what is up to the readers (`collector.credentials`: [ssh], [snmp.NAME];
`timeseries.token`: [influxdb]).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pelihara.inventory.errors import ConfigurationError
from pelihara.inventory.paths import config_dir

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
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        # The parser's message names line and column; it does not quote the value.
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
