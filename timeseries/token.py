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
from collections.abc import Mapping

from pelihara.core.errors import ConfigurationError
from pelihara.core.secrets import credentials_path, read_credentials

ENV_TOKEN = "PELIHARA_INFLUX_TOKEN"  # noqa: S105 (the variable's name, not a token)


def _file_token(env: Mapping[str, str]) -> str | None:
    path = credentials_path(env)
    table = read_credentials(env).get("influxdb", {})
    token = table.get("token") if isinstance(table, dict) else None
    if token is not None and not isinstance(token, str):
        raise ConfigurationError(f"{path}: [influxdb] token must be a string")
    return token or None


def influx_token(env: Mapping[str, str] | None = None) -> str | None:
    """The token from the environment, else from the credentials file, else None."""
    env = os.environ if env is None else env
    return env.get(ENV_TOKEN) or _file_token(env)
