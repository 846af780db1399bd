"""The InfluxDB token: `PELIHARA_INFLUX_TOKEN`, or `[influxdb] token` in credentials.toml.

    [influxdb]
    token = "..."            # InfluxDB 1.8+: "USER:PASSWORD"

The file is the one `collector.credentials` reads (`PELIHARA_CREDENTIALS`, else
`credentials.toml` in the config directory) under the same rule: refused unless only its owner
can read it. Read here and not through `collector` so that `timeseries` stands alone; only the
`[influxdb]` table is looked at. The token never appears in a message.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path

from inventory.errors import ConfigurationError
from inventory.paths import config_dir

ENV_TOKEN = "PELIHARA_INFLUX_TOKEN"  # noqa: S105 (the variable's name, not a token)
ENV_FILE = "PELIHARA_CREDENTIALS"


def credentials_path(env: Mapping[str, str]) -> Path:
    """The credentials file named by ENV, or the default one."""
    return Path(env.get(ENV_FILE) or config_dir() / "credentials.toml")


def _private_text(path: Path) -> str | None:
    """The text of PATH if it exists; ConfigurationError if group or others can read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} can be read by others (mode {stat.filemode(mode)}): run `chmod 600 {path}`"
        )
    return path.read_text(encoding="utf-8")


def _file_token(path: Path) -> str | None:
    text = _private_text(path)
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The parser's message names line and column; it does not quote the value.
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("influxdb", {})
    token = table.get("token") if isinstance(table, dict) else None
    if token is not None and not isinstance(token, str):
        raise ConfigurationError(f"{path}: [influxdb] token must be a string")
    return token or None


def influx_token(env: Mapping[str, str] | None = None) -> str | None:
    """The token from the environment, else from the credentials file, else None."""
    env = os.environ if env is None else env
    return env.get(ENV_TOKEN) or _file_token(credentials_path(env))
