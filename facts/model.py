"""The facts model: what a server is, as every package reads it (collector, snapshots, diff).

Frozen dataclasses with units in the field names. The JSON form is stable: sorted keys,
UTC ISO-8601 times, and `schema_version`; a value the agent could not read (no privilege,
no such file) is null, never a guess.

>>> print(facts_to_json(facts))                          # doctest: +SKIP
{"cpu": {"cores": 2, "model": "AMD EPYC 7B13", "sockets": 1, "threads": 4}, ...
 "schema_version": 1, ...}
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pelihara.core.canonical import canonical_json, sha256_hex, utc_text

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Identity:
    hostname: str
    fqdn: str | None = None
    machine_id: str | None = None
    dmi_vendor: str | None = None
    dmi_product: str | None = None
    dmi_serial: str | None = None  # root-only on Linux: null for an unprivileged agent
    boot_time: datetime | None = None


@dataclass(frozen=True)
class Cpu:
    model: str | None = None
    sockets: int | None = None
    cores: int | None = None  # physical cores, all sockets
    threads: int | None = None  # logical CPUs


@dataclass(frozen=True)
class Mount:
    path: str
    device: str
    fstype: str
    total_bytes: int | None = None
    used_bytes: int | None = None


@dataclass(frozen=True)
class Disk:
    name: str
    size_bytes: int | None = None
    model: str | None = None
    serial: str | None = None
    mounts: tuple[Mount, ...] = ()


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str | None = None
    is_up: bool | None = None
    speed_mbps: int | None = None
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()


@dataclass(frozen=True)
class OperatingSystem:
    name: str | None = None  # `PRETTY_NAME` of os-release: "Debian GNU/Linux 12 (bookworm)"
    id: str | None = None  # "debian"
    version: str | None = None  # "12"
    kernel: str | None = None  # "6.1.0-26-amd64"


@dataclass(frozen=True)
class Service:
    name: str
    state: str  # systemd ActiveState/SubState ("active/running"), or "running" for a process
    source: str  # "systemd" | "process"


@dataclass(frozen=True)
class ListeningPort:
    protocol: str  # "tcp" | "udp"
    address: str
    port: int
    process: str | None = None  # null when the owner is not visible to the agent


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    manager: str  # "dpkg" | "rpm"


@dataclass(frozen=True)
class HostKey:
    key_type: str  # "ssh-ed25519"
    fingerprint_sha256: str  # "SHA256:..." as `ssh-keygen -l` prints it


@dataclass(frozen=True)
class Facts:
    identity: Identity
    cpu: Cpu = field(default_factory=Cpu)
    memory_total_bytes: int | None = None
    disks: tuple[Disk, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    os: OperatingSystem = field(default_factory=OperatingSystem)
    services: tuple[Service, ...] = ()
    listening_ports: tuple[ListeningPort, ...] = ()
    packages: tuple[Package, ...] = ()
    ssh_host_keys: tuple[HostKey, ...] = ()
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    schema_version: int = SCHEMA_VERSION

    def addresses(self) -> set[str]:
        """Every IPv4 and IPv6 address on any interface."""
        return {a for i in self.interfaces for a in (*i.ipv4, *i.ipv6)}


class FactsFormatError(ValueError):
    """A facts document that does not fit the model (wrong version, type or field)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def facts_to_dict(facts: Facts) -> dict[str, Any]:
    """Facts as plain JSON-ready data."""
    result: dict[str, Any] = _plain(facts)
    return result


def facts_to_json(facts: Facts, indent: int | None = None) -> str:
    """The canonical JSON form (`pelihara.core.canonical`): what is stored and hashed.

    With INDENT, the same document laid out for people (keys still sorted, times in `Z`).
    """
    document = facts_to_dict(facts)
    if indent is None:
        return canonical_json(document)
    return json.dumps(document, sort_keys=True, indent=indent, ensure_ascii=False, allow_nan=False)


def facts_sha256(facts: Facts) -> str:
    """SHA-256 of the facts' canonical JSON: equal facts, equal hash."""
    return sha256_hex(facts_to_dict(facts))


def _build(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _build(inner, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise FactsFormatError(f"{where}: expected a list")
        inner = typing.get_args(kind)[0]
        return tuple(_build(inner, item, f"{where}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(kind):
        return _from_dict(kind, value, where)
    return _scalar(kind, value, where)


def _scalar(kind: Any, value: Any, where: str) -> Any:
    if kind is datetime:
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise FactsFormatError(f"{where}: not an ISO-8601 time") from None
    # bool is an int in Python; JSON keeps them apart, and so do we.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FactsFormatError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _from_dict(cls: Any, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise FactsFormatError(f"{where}: expected an object")
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        if item.name in data:
            values[item.name] = _build(hints[item.name], data[item.name], f"{where}.{item.name}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise FactsFormatError(f"{where}: {exc}") from None


def facts_from_dict(data: Any) -> Facts:
    """Facts from their JSON form; unknown fields are ignored, a newer schema is refused."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise FactsFormatError(f"facts schema version {version!r}, expected {SCHEMA_VERSION}")
    facts: Facts = _from_dict(Facts, data, "facts")
    return facts


def facts_from_json(text: str) -> Facts:
    try:
        return facts_from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise FactsFormatError(f"facts are not JSON: {exc}") from None
