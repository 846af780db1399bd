"""The private credentials file (`credentials.toml`), read under one rule for every package:
refused unless it is a regular file that only its owner, the user running pelihara, can read;
its values never appear in a message.

Which tables mean what is up to the readers (`pelihara.collector.credentials`: [ssh], [snmp.NAME];
`pelihara.timeseries.token`: [influxdb]).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pelihara.core.config import parse_toml
from pelihara.core.errors import ConfigurationError
from pelihara.core.paths import config_dir

ENV_FILE = "PELIHARA_CREDENTIALS"
MAX_BYTES = 1024 * 1024  # a credentials file is a few hundred bytes


def credentials_path(env: Mapping[str, str] | None = None) -> Path:
    """`PELIHARA_CREDENTIALS`, else `credentials.toml` in the configuration directory."""
    env = os.environ if env is None else env
    return Path(env.get(ENV_FILE) or config_dir() / "credentials.toml")


def read_credentials(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The tables of the file `credentials_path` names: the default file may be absent
    (no credentials), a file that `PELIHARA_CREDENTIALS` names must exist."""
    env = os.environ if env is None else env
    return read_credentials_file(credentials_path(env), required=bool(env.get(ENV_FILE)))


def read_credentials_file(path: Path, required: bool = False) -> dict[str, Any]:
    """The file's tables ({} when there is no file, unless REQUIRED).

    The file is opened once and checked on the open descriptor, so that what is checked is
    what is read (no swap between a check by name and the open): a regular file, owned by
    this user, that group and others may not read or write.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        if required:
            raise ConfigurationError(
                f"{ENV_FILE} names {path}, which does not exist (unset it to use none)"
            ) from None
        return {}
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        _check_private(path, os.fstat(fd))
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ConfigurationError(f"{path}: larger than {MAX_BYTES} bytes: not a credentials file")
    return parse_toml(data, path) or {}


def _check_private(path: Path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise ConfigurationError(f"{path}: not a regular file")
    if status.st_uid != os.geteuid():
        raise ConfigurationError(
            f"{path} belongs to user id {status.st_uid}, not to the user running pelihara "
            f"({os.geteuid()}): run `chown {os.geteuid()} {path}`, or use your own file"
        )
    if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} can be read by others (mode {stat.filemode(status.st_mode)}): "
            f"run `chmod 600 {path}`"
        )
