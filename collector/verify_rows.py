"""The servers `verify` looks at, read from the inventory through a plain DB-API connection
(`inventory.dbapi`): the same choice as `selection.choose_servers` makes through the ORM
(named by hostname, IP address or domain; --all; --opd; withdrawn servers left out unless
asked), as the probes' targets and the checks' expectations. Four queries whatever the
number of servers: the servers, then their addresses, components and host keys.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pelihara.collector.expectations import Expected
from pelihara.collector.probes.base import KnownHostKey, Target
from pelihara.collector.selection_rules import Selection, without_withdrawn
from pelihara.core.errors import ConfigurationError, NotFoundError
from pelihara.inventory.dbapi import Db
from pelihara.inventory.statuses import ComponentStatus

_COLUMNS = ("id", "hostname", "domain", "status", "cpu_cores", "memory_gb", "disk_gb", "serial",
            "os", "ssh_host", "ssh_port", "ssh_user", "snmp_port", "snmp_version",
            "snmp_credential")  # fmt: skip
_SERVERS = f"SELECT {', '.join('s.' + c for c in _COLUMNS)} FROM server s"


@dataclass(frozen=True)
class ServerRow:
    """A server as the inventory stores it, with what verify reads of its other rows."""

    values: dict[str, Any]
    addresses: tuple[str, ...] = ()
    components: tuple[tuple[str, str], ...] = ()  # (kind, serial) of installed parts
    host_keys: tuple[KnownHostKey, ...] = ()

    @property
    def hostname(self) -> str:
        return str(self.values["hostname"])

    @property
    def status(self) -> str:
        return str(self.values["status"])

    def expected(self) -> Expected:
        v = self.values
        target = Target(
            hostname=v["hostname"], domain=v["domain"], addresses=self.addresses,
            ssh_host=v["ssh_host"], ssh_port=v["ssh_port"], ssh_user=v["ssh_user"],
            snmp_port=v["snmp_port"], snmp_version=v["snmp_version"],
            snmp_credential=v["snmp_credential"], host_keys=self.host_keys,
        )  # fmt: skip
        return Expected(target=target, cpu_cores=v["cpu_cores"], memory_gb=v["memory_gb"],
                        disk_gb=v["disk_gb"], serial=v["serial"], os=v["os"],
                        component_serials=self.components, server_id=v["id"])  # fmt: skip


def _like(text: str) -> str:
    """TEXT as a LIKE pattern matching it anywhere, its wildcards escaped (ESCAPE '/')."""
    escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


_OPD = " JOIN opd o ON o.id = s.opd_id WHERE lower(o.name) LIKE ? ESCAPE '/'"


def _find(db: Db, key: str) -> int:
    """The id of the server whose hostname, IP address or domain is KEY (as `find_server`)."""
    text = key.strip().lower().rstrip(".")
    try:
        address: str | None = ipaddress.ip_address(text).compressed
    except ValueError:
        address = None
    if address is not None:
        row = db.execute("SELECT server_id FROM ip_address WHERE address = ?", (address,))
    else:
        row = db.execute("SELECT id FROM server WHERE hostname = ?", (text,))
    found = row.fetchone()
    if found is None and address is None:
        found = db.execute("SELECT id FROM server WHERE domain = ? ORDER BY hostname LIMIT 1",
                           (text,)).fetchone()  # fmt: skip
    if found is None:
        raise NotFoundError(f"no server {key!r} in the inventory (give a hostname, domain or IP)")
    return int(found[0])


def _servers(db: Db, where: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    rows = db.execute(f"{_SERVERS}{where} ORDER BY s.hostname", params).fetchall()
    return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]


def _details(db: Db, servers: list[dict[str, Any]], where: str, params: Sequence[Any]
             ) -> list[ServerRow]:  # fmt: skip
    """SERVERS with their addresses (primary first), installed parts' serials and host keys,
    read for the servers WHERE (the servers' own condition) selects."""
    ids = f"SELECT s.id FROM server s{where}"
    addresses, parts, keys = defaultdict(list), defaultdict(list), defaultdict(list)
    for server_id, address in db.execute(
        f"SELECT server_id, address FROM ip_address WHERE server_id IN ({ids}) "
        'ORDER BY server_id, "primary" DESC, id', params,
    ).fetchall():  # fmt: skip
        addresses[server_id].append(address)
    for server_id, kind, serial in db.execute(
        f"SELECT server_id, kind, serial FROM component WHERE server_id IN ({ids}) "
        "AND status = ? AND serial IS NOT NULL AND serial != '' ORDER BY server_id, id",
        (*params, ComponentStatus.INSTALLED.value),
    ).fetchall():  # fmt: skip
        parts[server_id].append((kind, serial))
    for server_id, key_type, fingerprint in db.execute(
        f"SELECT server_id, key_type, fingerprint_sha256 FROM host_key WHERE server_id IN "
        f"({ids}) ORDER BY server_id, key_type", params,
    ).fetchall():  # fmt: skip
        keys[server_id].append(KnownHostKey(key_type, fingerprint))
    return [ServerRow(s, tuple(addresses[s["id"]]), tuple(parts[s["id"]]), tuple(keys[s["id"]]))
            for s in servers]  # fmt: skip


def choose_rows(
    db: Db, hosts: tuple[str, ...], all_hosts: bool, opd: str | None,
    include_withdrawn: bool = False,
) -> Selection[ServerRow]:  # fmt: skip
    """The servers named (hostname, IP or domain; one named twice is looked at once), or
    all, or those of OPDs matching OPD; withdrawn ones only with INCLUDE_WITHDRAWN."""
    if sum((bool(hosts), all_hosts, bool(opd))) > 1:
        raise ConfigurationError("name the servers, or give --all, or --opd: one of them")
    params: tuple[Any, ...]
    if hosts:
        ids = list(dict.fromkeys(_find(db, host) for host in hosts))
        where, params = f" WHERE s.id IN ({', '.join('?' for _ in ids)})", tuple(ids)
    elif opd:
        where, params = _OPD, (_like(opd),)
    elif all_hosts:
        where, params = "", ()
    else:
        raise ConfigurationError("name the servers, or give --all or --opd")
    servers = _servers(db, where, params)
    if hosts:  # in the order named
        servers.sort(key=lambda s: ids.index(s["id"]))
    if not servers:
        raise ConfigurationError("no server matches")
    rows = _details(db, servers, where, params)
    return without_withdrawn(rows, include_withdrawn, lambda row: (row.hostname, row.status))
