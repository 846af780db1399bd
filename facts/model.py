"""The facts model: what a server is, as every package reads it (collector, snapshots, diff).

Frozen dataclasses with units in the field names. The JSON form is stable: sorted keys,
UTC ISO-8601 times, and `schema_version`; a value the agent could not read (no privilege,
no such file) is null, never a guess.

>>> print(facts_to_json(facts))                          # doctest: +SKIP
{"cpu": {"cores": 2, "model": "AMD EPYC 7B13", "sockets": 1, "threads": 4}, ...
 "schema_version": 2, ...}

Schema 2: a list that was not read is null, an empty list means "none". Each list of
`Facts` (disks, interfaces, services, listening_ports, packages, ssh_host_keys) is None
when its tool, file or privilege was missing, or when it was not asked for (`--scope
hardware`, the verify bundle); `()` when it was read and there is nothing. The lists inside
an item, decided one by one:

- `Disk.mounts` is None or a tuple too: the mounts are read apart from the disks (findmnt
  beside lsblk; the verify bundle reads the disks and not the mounts), so "no mounts" and
  "mounts not read" are different answers for the same disk.
- `Interface.ipv4` / `ipv6` stay plain tuples: an interface's addresses come in the same
  read as the interface itself (`ip -j addr`, getifaddrs), so an interface that was read
  has had its addresses read; `()` is "no address".

Every schema ever written is read (`facts_from_dict` upgrades it, `UPGRADES`); a newer one
is refused (`NewerSchemaError`), naming both versions. Schema 1 wrote `[]` for both "not
read" and "none": an empty list of schema 1 reads as None (not known), a non-empty one is
kept. "Not known" is the reading that never invents a finding: a schema-1 verify document
had `"services": []` and `"mounts": []` for services and mounts it never looked at, and a
diff against it must not report every service stopped. The cost is small: on a real server
an empty list that was really read is rare (no listening port at all, an unmounted disk).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pelihara.core.canonical import canonical_json, sha256_hex, utc_text

SCHEMA_VERSION = 2


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
    mounts: tuple[Mount, ...] | None = None  # None: not read (see the module docstring)


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str | None = None
    is_up: bool | None = None
    speed_mbps: int | None = None
    ipv4: tuple[str, ...] = ()  # read with the interface: () is "no address"
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
    # Each list: None when it was not read, () when it was read and holds nothing.
    disks: tuple[Disk, ...] | None = None
    interfaces: tuple[Interface, ...] | None = None
    os: OperatingSystem = field(default_factory=OperatingSystem)
    services: tuple[Service, ...] | None = None
    listening_ports: tuple[ListeningPort, ...] | None = None
    packages: tuple[Package, ...] | None = None
    ssh_host_keys: tuple[HostKey, ...] | None = None
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    schema_version: int = SCHEMA_VERSION

    def addresses(self) -> set[str] | None:
        """Every IPv4 and IPv6 address on any interface; None when the interfaces were not
        read (an empty set is a host with no address)."""
        if self.interfaces is None:
            return None
        return {a for i in self.interfaces for a in (*i.ipv4, *i.ipv6)}


class FactsFormatError(ValueError):
    """A facts document that does not fit the model (wrong version, type or field)."""


class NewerSchemaError(FactsFormatError):
    """A facts document of a schema this pelihara does not know yet: written by a newer
    pelihara (an agent upgraded before the collector). Carries both versions."""

    def __init__(self, version: int, supported: int = SCHEMA_VERSION, source: str = "") -> None:
        super().__init__(
            f"{source}{': ' if source else ''}facts schema {version} is newer than this "
            f"pelihara reads ({supported}): upgrade pelihara on the collector"
        )
        self.version, self.supported, self.source = version, supported, source


# The leaves of facts, returned as they are: checked first, they are most of the values.
_LEAVES = (str, int, float, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The field names of dataclass KIND, else None; looked up once per class (the SSH probe
    turns a server's facts into data per host, and `dataclasses.fields` is not cheap)."""
    if kind not in _FIELD_NAMES:
        is_class = dataclasses.is_dataclass(kind)
        _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind)) if is_class else None
    return _FIELD_NAMES[kind]


def _plain(value: Any) -> Any:
    if isinstance(value, _LEAVES):
        return value
    names = _field_names(type(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, datetime):
        return utc_text(value)
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


# --- reading every schema ever written ----------------------------------------------------

# The lists of `Facts` that schema 2 made nullable.
LIST_FACTS = ("disks", "interfaces", "services", "listening_ports", "packages", "ssh_host_keys")


def _unknown_if_empty(value: Any) -> Any:
    return None if value == [] else value


def upgrade_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: an empty list of schema 1 was "none" or "not read", and which one is
    not written down: it reads as None (not known); a non-empty list is kept. The same for
    each disk's mounts; interface addresses are kept as they are (module docstring)."""
    upgraded = {**data, "schema_version": 2}
    for name in LIST_FACTS:
        upgraded[name] = _unknown_if_empty(data.get(name))
    if isinstance(upgraded["disks"], list):
        upgraded["disks"] = [_disk_1_to_2(disk) for disk in upgraded["disks"]]
    return upgraded


def _disk_1_to_2(disk: Any) -> Any:
    if not isinstance(disk, dict):
        return disk  # not a disk: refused, with its place, as the model is built
    return {**disk, "mounts": _unknown_if_empty(disk.get("mounts"))}


# Version N -> the function that turns a document of schema N into one of schema N + 1, pure
# and on plain JSON data. A new schema adds its line; no line is ever removed.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: upgrade_1_to_2}


def schema_version_of(data: Any) -> int:
    """The schema version a facts document declares; FactsFormatError if it declares none
    this pelihara can read, NewerSchemaError if it is newer than SCHEMA_VERSION."""
    if not isinstance(data, dict):
        raise FactsFormatError("facts: expected a JSON object")
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FactsFormatError(f"facts: schema_version {version!r} is not a facts schema")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    return version


def upgraded(data: Any) -> dict[str, Any]:
    """A facts document of any schema ever written, as schema SCHEMA_VERSION (plain data)."""
    version = schema_version_of(data)
    document: dict[str, Any] = data
    for step in range(version, SCHEMA_VERSION):
        document = UPGRADES[step](document)
    return document


def facts_from_dict(data: Any) -> Facts:
    """Facts from their JSON form, of any schema ever written (upgraded on read); unknown
    fields are ignored, a newer schema is refused (NewerSchemaError)."""
    facts: Facts = _from_dict(Facts, upgraded(data), "facts")
    return facts


def facts_from_json(text: str) -> Facts:
    try:
        return facts_from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise FactsFormatError(f"facts are not JSON: {exc}") from None
