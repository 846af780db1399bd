"""The audit log's MAC key: `PELIHARA_AUDIT_KEY`, else `[audit] key` in `credentials.toml`.

Every entry carries an HMAC-SHA-256 of its content under this key, so whoever can write the
database but does not hold the key cannot re-hash an edited chain unnoticed. The key never
goes into the database, a log line or a message; `pelihara init` writes one (64 hex digits)
into the credentials file when there is none. Every machine that writes to one database
needs the same key.

    [audit]
    key = "5f0c...64 hex digits"
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pelihara.core.errors import ConfigurationError
from pelihara.core.secrets import credentials_path, read_credentials_file

ENV_KEY = "PELIHARA_AUDIT_KEY"
MIN_LENGTH = 32  # characters; `init` makes 64 hex digits (256 bits)
_TABLE_HEADER = re.compile(r"^\s*\[\s*audit\s*\]\s*(#.*)?$")
_KEY_COMMENT = (
    "# The audit log's MAC key (pelihara init). Keep a copy somewhere safe: without it the\n"
    "# log's MACs cannot be checked. Every machine writing to the same database needs it.\n"
)


class AuditKey:
    """The key; its repr never shows it. `mac(data)` is HMAC-SHA-256 as 64 hex digits."""

    __slots__ = ("_key", "source")

    def __init__(self, text: str, source: str) -> None:
        self._key = text.encode("utf-8")
        self.source = source  # where it came from, for messages: a variable or a file name

    def mac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def matches(self, data: bytes, mac: str) -> bool:
        """Whether MAC is this key's over DATA (compared in constant time)."""
        return hmac.compare_digest(self.mac(data), mac)

    def __repr__(self) -> str:
        return f"AuditKey('***', source={self.source!r})"

    __str__ = __repr__


def _checked(value: object, source: str) -> AuditKey:
    if not isinstance(value, str) or len(value.strip()) < MIN_LENGTH:
        raise ConfigurationError(
            f"{source}: the audit key must be text of at least {MIN_LENGTH} characters "
            "(`pelihara init` makes one)"
        )
    return AuditKey(value.strip(), source)


def load_key(env: Mapping[str, str] | None = None) -> AuditKey | None:
    """The key from the environment or the credentials file; None when neither has one."""
    env = os.environ if env is None else env
    if env.get(ENV_KEY):
        return _checked(env[ENV_KEY], ENV_KEY)
    path = credentials_path(env)
    table = read_credentials_file(path).get("audit")
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{path}: [audit] must be a table, not a value")
    if "key" not in table:
        return None
    return _checked(table["key"], f"{path} [audit] key")


def require_key(env: Mapping[str, str] | None = None) -> AuditKey:
    """The key, or an error saying how to get one (nothing is appended without it)."""
    key = load_key(env)
    if key is None:
        raise ConfigurationError(
            f"no audit key: run `pelihara init` (it writes one into {credentials_path(env)}), "
            f"or set {ENV_KEY}; every machine writing to this database needs the same key"
        )
    return key


@dataclass(frozen=True)
class KeySetup:
    """What `ensure_key` found or did: `written` is True when it made a new key."""

    source: str
    written: bool


def ensure_key(log_is_signed: bool, env: Mapping[str, str] | None = None) -> KeySetup:
    """The key that is configured, else a new one written into the credentials file.

    A log already signed gets no new key: its key is elsewhere (another machine), and a new
    one would sign entries that verify against neither."""
    key = load_key(env)
    if key is not None:
        return KeySetup(key.source, written=False)
    path = credentials_path(env)
    if log_is_signed:
        raise ConfigurationError(
            f"the audit log is signed with a key this machine does not have: copy [audit] key "
            f"from the credentials file of the machine that ran `pelihara init` first into "
            f"{path}, or set {ENV_KEY}"
        )
    write_new_key(path)
    return KeySetup(f"{path} [audit] key", written=True)


def write_new_key(path: Path) -> None:
    """Add `[audit] key = <new key>` to PATH, created 0600 when absent; never overwrites one."""
    line = f'key = "{secrets.token_hex(32)}"\n'
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create(path, f"[audit]\n{_KEY_COMMENT}{line}")
        return
    tables = read_credentials_file(path)  # refuses a file others can read
    audit = tables.get("audit")
    if isinstance(audit, Mapping) and "key" in audit:
        return
    text = path.read_text(encoding="utf-8")
    if audit is None:
        separator = "\n" if text and not text.endswith("\n") else ""
        _append(path, f"{separator}\n[audit]\n{_KEY_COMMENT}{line}")
        return
    lines = text.splitlines(keepends=True)
    header = next((i for i, each in enumerate(lines) if _TABLE_HEADER.match(each)), None)
    if header is None:
        raise ConfigurationError(
            f"{path}: its audit table is not an [audit] section pelihara can add a key to: "
            f"add `key = ...` (at least {MIN_LENGTH} characters) yourself, or set {ENV_KEY}"
        )
    lines.insert(header + 1, _KEY_COMMENT + line)
    _replace(path, "".join(lines))


def _create(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(text)


def _replace(path: Path, text: str) -> None:
    """Write TEXT to a 0600 file beside PATH, then rename it over PATH (never half-written)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _create(temporary, text)
    os.replace(temporary, path)
