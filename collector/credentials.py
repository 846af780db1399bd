"""Secrets: SSH keys and passphrases, SNMP communities and v3 keys, store tokens.

They live in `credentials.toml` (refused unless only its owner can read it) or in the
environment, and the inventory names them. A `Secret` never shows its value in a repr,
a log line or an exception message.

credentials.toml:

    [ssh]
    key_file = "~/.ssh/id_ed25519"      # or use_agent = true (the default when no key_file)
    passphrase = "..."                  # optional

    [snmp.snmp-dc-v3]                   # the name the inventory's snmp_credential gives
    version = "3"
    user = "pelihara"
    auth_protocol = "SHA256"            # SHA, SHA224, SHA256, SHA384, SHA512 (MD5 if insecure)
    auth_key = "..."
    priv_protocol = "AES128"            # AES128, AES192, AES256 (DES if insecure)
    priv_key = "..."

    [snmp.snmp-legacy-v2c]
    version = "2c"
    community = "..."

Environment: PELIHARA_CREDENTIALS=FILE names another file; PELIHARA_SSH_KEY_FILE,
PELIHARA_SSH_PASSPHRASE; PELIHARA_SNMP_<NAME>_<FIELD> (NAME upper-cased, `-` and `.` as `_`),
e.g. PELIHARA_SNMP_SNMP_DC_V3_AUTH_KEY, override or replace the file's values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pelihara.core.errors import ConfigurationError
from pelihara.core.secrets import read_credentials


class Secret:
    """A secret value; `str()` and `repr()` show `***`, only `reveal()` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SshCredentials:
    key_file: Path | None = field(default=None, repr=False)  # where the key lives: not shown
    passphrase: Secret | None = None
    use_agent: bool = True


@dataclass(frozen=True)
class SnmpCredentials:
    name: str
    version: str  # "2c" | "3"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: str = "SHA256"
    auth_key: Secret | None = None
    priv_protocol: str = "AES128"
    priv_key: Secret | None = None
    allow_insecure: bool = False  # MD5 / DES only when this is true


@dataclass(frozen=True)
class Credentials:
    ssh: SshCredentials
    snmp: Mapping[str, SnmpCredentials]

    def snmp_for(self, name: str | None) -> SnmpCredentials:
        if not name:
            raise ConfigurationError("the server names no snmp_credential in the inventory")
        found = self.snmp.get(_env_name(name))
        if found is None:
            raise ConfigurationError(
                f"SNMP credential {name!r} is not in credentials.toml nor the environment"
            )
        return found


_SECRETS = ("community", "auth_key", "priv_key")


def _env_name(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def _snmp_from(name: str, table: Mapping[str, Any], env: Mapping[str, str]) -> SnmpCredentials:
    prefix = f"PELIHARA_SNMP_{_env_name(name)}_"
    from_env = {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
    values = {**table, **from_env}
    secret = {k: Secret(str(values[k])) for k in _SECRETS if values.get(k)}
    return SnmpCredentials(
        name=name,
        version=str(values.get("version", "3" if values.get("user") else "2c")),
        user=values.get("user"),
        auth_protocol=str(values.get("auth_protocol", "SHA256")).upper(),
        priv_protocol=str(values.get("priv_protocol", "AES128")).upper(),
        allow_insecure=str(values.get("allow_insecure", "")).lower() in ("true", "1", "yes"),
        **secret,
    )


def _env_snmp_names(env: Mapping[str, str]) -> set[str]:
    """Credential names only given in the environment (PELIHARA_SNMP_<NAME>_COMMUNITY etc.)."""
    found = set()
    for key in env:
        match = re.match(r"PELIHARA_SNMP_(.+)_(COMMUNITY|USER|AUTH_KEY|PRIV_KEY)$", key)
        if match:
            found.add(match.group(1))
    return found


def _ssh_from(table: Mapping[str, Any], env: Mapping[str, str]) -> SshCredentials:
    key_file = env.get("PELIHARA_SSH_KEY_FILE") or table.get("key_file")
    passphrase = env.get("PELIHARA_SSH_PASSPHRASE") or table.get("passphrase")
    return SshCredentials(
        key_file=Path(str(key_file)).expanduser() if key_file else None,
        passphrase=Secret(str(passphrase)) if passphrase else None,
        use_agent=bool(table.get("use_agent", not key_file)),
    )


def load_credentials(env: Mapping[str, str] | None = None) -> Credentials:
    """Credentials from the file and the environment; a readable-by-others file is refused."""
    env = os.environ if env is None else env
    data = read_credentials()
    snmp_tables: dict[str, Any] = dict(data.get("snmp", {}))
    for name in _env_snmp_names(env) - {_env_name(n) for n in snmp_tables}:
        snmp_tables[name] = {}
    snmp = {_env_name(name): _snmp_from(name, table, env) for name, table in snmp_tables.items()}
    return Credentials(ssh=_ssh_from(data.get("ssh", {}), env), snmp=snmp)
