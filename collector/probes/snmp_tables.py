"""What the SNMP probe reads (numeric OIDs) and pure parsers from varbinds to JSON-ready rows.

A parser gets `(oid, value)` pairs with the value already plain (as `snmp_pdu` reads it): int for
INTEGER, Gauge32, Counter and TimeTicks; bytes for OCTET STRING and IpAddress; str for an
OBJECT IDENTIFIER; None for noSuchObject / noSuchInstance / endOfMibView. OIDs carry no
leading dot. Numeric OIDs only: Debian ships no IETF MIB files, and no lookup is faster.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Value = int | bytes | str | None
VarBind = tuple[str, Value]
Row = dict[str, Any]
Index = tuple[int, ...]

SCALARS = {
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysUpTime": "1.3.6.1.2.1.1.3.0",
    "sysName": "1.3.6.1.2.1.1.5.0",
    "sysLocation": "1.3.6.1.2.1.1.6.0",
    "hrMemorySize": "1.3.6.1.2.1.25.2.2.0",
}

HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"  # 2 type, 3 descr, 4 allocation units, 5 size, 6 used
HR_PROCESSOR_ENTRY = "1.3.6.1.2.1.25.3.3.1"  # 1 hrProcessorFrwID, 2 hrProcessorLoad
IF_ENTRY = "1.3.6.1.2.1.2.2.1"  # 2 descr, 5 speed (bit/s), 6 physAddress, 7 admin, 8 oper
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"  # 1 ifName, 15 ifHighSpeed (Mbit/s)
IP_ADDR_ENTRY = "1.3.6.1.2.1.4.20.1"  # 2 ipAdEntIfIndex; index = the IPv4 address
IP_ADDRESS_ENTRY = "1.3.6.1.2.1.4.34.1"  # 3 ifIndex, 4 type; index = type.length.octets
ENT_PHYSICAL_ENTRY = "1.3.6.1.2.1.47.1.1.1.1"  # 2 descr, 5 class, 7 name, 11 serial, 13 model

HR_STORAGE_TYPES = "1.3.6.1.2.1.25.2.1."
STORAGE_TYPE_NAMES = {
    1: "other", 2: "ram", 3: "virtualMemory", 4: "fixedDisk", 5: "removableDisk",
    6: "floppyDisk", 7: "compactDisc", 8: "ramDisk", 9: "flashMemory", 10: "networkDisk",
}  # fmt: skip
ENTITY_CLASSES = {
    1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container", 6: "powerSupply",
    7: "fan", 8: "sensor", 9: "module", 10: "port", 11: "stack", 12: "cpu",
    13: "energyObject", 14: "battery", 15: "storageDrive",
}  # fmt: skip
UP = 1  # ifAdminStatus / ifOperStatus up(1)
INET_ADDRESS_LENGTHS = {1: 4, 2: 16, 3: 8, 4: 20}  # ipv4, ipv6, ipv4z, ipv6z (address + zone)
BROADCAST = 3  # ipAddressType broadcast(3): net-snmp lists each subnet's broadcast address


def columns(entry: str, *numbers: int) -> tuple[str, ...]:
    """The column OIDs of a table entry: `columns("1.3.6.1.2.1.2.2.1", 2)` -> `("….2.2.1.2",)`."""
    return tuple(f"{entry}.{number}" for number in numbers)


def text(value: Value) -> str | None:
    """A DisplayString as str: UTF-8 (bad bytes replaced), trailing NULs and spaces stripped.

    An empty string is None: agents fill an unknown serial or name with "" or spaces.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 \t\r\n") or None


def integer(value: Value) -> int | None:
    return value if isinstance(value, int) else None


def mac_address(value: Value) -> str | None:
    """A PhysAddress as `aa:bb:cc:dd:ee:ff`; None when empty (loopback, tunnels)."""
    if not isinstance(value, bytes) or not value:
        return None
    return ":".join(f"{octet:02x}" for octet in value)


def _by_column(varbinds: Iterable[VarBind], entry: str) -> dict[int, dict[Index, Value]]:
    """Varbinds under ENTRY as column number -> {row index -> value}."""
    prefix = entry + "."
    found: dict[int, dict[Index, Value]] = defaultdict(dict)
    for oid, value in varbinds:
        if not oid.startswith(prefix):
            continue
        column, _, index = oid[len(prefix) :].partition(".")
        if index:
            found[int(column)][tuple(int(part) for part in index.split("."))] = value
    return found


def _indexes(table: dict[int, dict[Index, Value]]) -> list[Index]:
    return sorted({index for rows in table.values() for index in rows})


def parse_system(varbinds: Iterable[VarBind]) -> Row:
    """The scalars; e.g. {"sysName": "web1", "uptime_seconds": 1234.56, "memory_total_bytes": …}."""
    values = {oid: value for oid, value in varbinds}
    ticks = integer(values.get(SCALARS["sysUpTime"]))
    kib = integer(values.get(SCALARS["hrMemorySize"]))
    object_id = values.get(SCALARS["sysObjectID"])
    return {
        "sysName": text(values.get(SCALARS["sysName"])),
        "sysDescr": text(values.get(SCALARS["sysDescr"])),
        "sysObjectID": object_id if isinstance(object_id, str) else None,
        "sysLocation": text(values.get(SCALARS["sysLocation"])),
        "uptime_seconds": ticks / 100 if ticks is not None else None,  # TimeTicks: 1/100 s
        "memory_total_bytes": kib * 1024 if kib is not None else None,  # hrMemorySize is KiB
    }


def _storage_type(value: Value) -> str | None:
    """hrStorageType: `1.3.6.1.2.1.25.2.1.4` -> "fixedDisk"; an unknown type stays an OID."""
    if not isinstance(value, str):
        return None
    if value.startswith(HR_STORAGE_TYPES):
        return STORAGE_TYPE_NAMES.get(int(value[len(HR_STORAGE_TYPES) :]), value)
    return value


def _storage_bytes(value: Value, units: int | None) -> int | None:
    count = integer(value)
    if count is None or units is None:
        return None
    # hrStorageSize/Used are Integer32: some agents wrap past 2**31 units into negatives.
    return (count % 2**32) * units


def parse_storage(varbinds: Iterable[VarBind]) -> list[Row]:
    """hrStorageTable; e.g. [{"index": 31, "type": "fixedDisk", "description": "/",
    "size_bytes": 10434699264, "used_bytes": 3024678912}]."""
    table = _by_column(varbinds, HR_STORAGE_ENTRY)
    rows = []
    for index in _indexes(table):
        units = integer(table[4].get(index))
        rows.append({
            "index": index[0],
            "type": _storage_type(table[2].get(index)),
            "description": text(table[3].get(index)),
            "size_bytes": _storage_bytes(table[5].get(index), units),
            "used_bytes": _storage_bytes(table[6].get(index), units),
        })  # fmt: skip
    return rows


def parse_processors(varbinds: Iterable[VarBind]) -> list[Row]:
    """hrProcessorTable; e.g. [{"index": 196608, "load_percent": 3}] (one row per CPU).

    A row is a row in any column: net-snmp fills hrProcessorLoad only a minute after it
    starts (an average over the last minute), while hrProcessorFrwID is there at once;
    until then "load_percent" is None.
    """
    table = _by_column(varbinds, HR_PROCESSOR_ENTRY)
    return [{"index": index[0], "load_percent": integer(table[2].get(index))}
            for index in _indexes(table)]  # fmt: skip


def _speed_mbps(high_speed: Value, speed: Value) -> int | None:
    """ifHighSpeed (Mbit/s) when the agent has it; ifSpeed (bit/s, saturates at 4.29 G) else."""
    if isinstance(high_speed, int):
        return high_speed
    return speed // 1_000_000 if isinstance(speed, int) else None


def _is_up(value: Value) -> bool | None:
    return value == UP if isinstance(value, int) else None


def parse_interfaces(varbinds: Iterable[VarBind]) -> list[Row]:
    """ifTable joined with ifXTable on ifIndex; e.g. [{"index": 1, "name": "lo",
    "description": "lo", "mac": None, "speed_mbps": 10, "admin_up": True, "oper_up": True}]."""
    varbinds = list(varbinds)
    if_table, ifx_table = _by_column(varbinds, IF_ENTRY), _by_column(varbinds, IFX_ENTRY)
    rows = []
    for index in sorted(set(_indexes(if_table)) | set(_indexes(ifx_table))):
        rows.append({
            "index": index[0],
            "name": text(ifx_table[1].get(index)),
            "description": text(if_table[2].get(index)),
            "mac": mac_address(if_table[6].get(index)),
            "speed_mbps": _speed_mbps(ifx_table[15].get(index), if_table[5].get(index)),
            "admin_up": _is_up(if_table[7].get(index)),
            "oper_up": _is_up(if_table[8].get(index)),
        })  # fmt: skip
    return rows


def parse_traffic(varbinds: Iterable[VarBind]) -> list[Row]:
    """Interface counters for health collection: 64-bit octets (ifXTable), errors and
    discards (ifTable); e.g. [{"index": 1, "name": "lo", "in_octets": 5120, ...}]."""
    varbinds = list(varbinds)
    if_table, ifx_table = _by_column(varbinds, IF_ENTRY), _by_column(varbinds, IFX_ENTRY)
    return [
        {
            "index": index[0],
            "name": text(ifx_table[1].get(index)),
            "in_octets": integer(ifx_table[6].get(index)),
            "out_octets": integer(ifx_table[10].get(index)),
            "in_discards": integer(if_table[13].get(index)),
            "in_errors": integer(if_table[14].get(index)),
            "out_discards": integer(if_table[19].get(index)),
            "out_errors": integer(if_table[20].get(index)),
        }
        for index in sorted(set(_indexes(if_table)) | set(_indexes(ifx_table)))
    ]


def inet_address(index: Index) -> str | None:
    """An ipAddressTable index (InetAddressType.length.octets…) as an address, else None.

    `1.4.127.0.0.1` -> "127.0.0.1"; `2.16.0…0.1` -> "::1"; the z types (3, 4) carry a
    4-octet zone index after the address: `4.20.254.128…0.1.0.0.0.2` -> "fe80::1%2".
    """
    if len(index) < 2 or INET_ADDRESS_LENGTHS.get(index[0]) != index[1]:
        return None  # unknown(0), dns(16) or a malformed index
    octets = index[2:]
    if len(octets) != index[1] or any(not 0 <= octet <= 255 for octet in octets):
        return None
    size = 4 if index[0] in (1, 3) else 16
    address = str(ipaddress.ip_address(bytes(octets[:size])))
    if len(octets) > size:
        address += f"%{int.from_bytes(bytes(octets[size:]), 'big')}"
    return address


def _address_key(row: Row) -> tuple[int, int, str, int]:
    address, _, zone = str(row["address"]).partition("%")
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed), zone, row["if_index"] or 0


def parse_addresses(varbinds: Iterable[VarBind]) -> list[Row]:
    """ipAddrTable (IPv4) and ipAddressTable (IPv4 + IPv6; broadcast addresses left out),
    deduplicated and sorted;
    e.g. [{"address": "127.0.0.1", "if_index": 1}, {"address": "::1", "if_index": 1}].
    Without ipAddressIfIndex (verify's `address-set`), IPv6 addresses have no if_index."""
    varbinds = list(varbinds)
    found: dict[str, int | None] = {}

    def add(address: str, if_index: int | None) -> None:
        if found.get(address) is None:
            found[address] = if_index

    for index, value in _by_column(varbinds, IP_ADDR_ENTRY)[2].items():
        if len(index) == 4 and all(0 <= octet <= 255 for octet in index):
            add(str(ipaddress.IPv4Address(bytes(index))), integer(value))
    ip_address_table = _by_column(varbinds, IP_ADDRESS_ENTRY)
    if_indexes, types = ip_address_table[3], ip_address_table[4]
    for index in sorted(if_indexes.keys() | types.keys()):
        address = inet_address(index)
        if address is not None and types.get(index) != BROADCAST:
            add(address, integer(if_indexes.get(index)))
    rows = [{"address": address, "if_index": if_index} for address, if_index in found.items()]
    return sorted(rows, key=_address_key)


def _entity_class(value: Value) -> str | None:
    if not isinstance(value, int):
        return None
    return ENTITY_CLASSES.get(value, str(value))


def parse_entities(varbinds: Iterable[VarBind]) -> list[Row]:
    """ENTITY-MIB entPhysicalTable; e.g. [{"index": 1, "description": "Test chassis",
    "class": "chassis", "name": None, "serial": "SN-TEST-0001", "model": "MODEL-X"}]."""
    table = _by_column(varbinds, ENT_PHYSICAL_ENTRY)
    return [
        {
            "index": index[0],
            "description": text(table[2].get(index)),
            "class": _entity_class(table[5].get(index)),
            "name": text(table[7].get(index)),
            "serial": text(table[11].get(index)),
            "model": text(table[13].get(index)),
        }
        for index in _indexes(table)
    ]


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


def split_bulk_response(
    asked: tuple[str, ...], last: dict[str, str], varbinds: list[VarBind]
) -> tuple[list[VarBind], dict[str, str], set[str]]:
    """A GETBULK answer for the columns ASKED -> (varbinds inside their column, the last OID
    now read per column, the columns that ended).

    The answer is row-major: one varbind per asked column per repetition. A column ends when
    its successor leaves the column, is endOfMibView (None), or does not come after the last
    OID read: a buggy agent repeating itself must not loop the walk forever.
    """
    kept: list[VarBind] = []
    last = dict(last)
    ended: set[str] = set()
    for position, (oid, value) in enumerate(varbinds):
        column = asked[position % len(asked)]
        if column in ended:
            continue
        previous = last.get(column)
        inside = oid.startswith(column + ".") and value is not None
        if not inside or (previous is not None and _oid_key(oid) <= _oid_key(previous)):
            ended.add(column)
            continue
        kept.append((oid, value))
        last[column] = oid
    return kept, last, ended


class TableWalk:
    """Where a GETBULK walk of table columns stands: what to ask next, what was read.

    Only the first column of each table is asked at first: every row of the tables read has
    it, so a table the agent lacks costs one varbind a repetition, not one per column. The
    table's other columns join, from their start, once the first column shows a row; when
    the first column has ended, they are known to have at most as many rows, and are done
    after that many without asking past their end.

    Cells (`take_cells`, what the probe does): once the first column has ended, its row
    indexes are known, so another column's remaining rows can be asked exactly, one
    non-repeater a row (the successor of `column.previous-index`), instead of repeating
    with the columns still going: a GETBULK gives every repeater the same number of rows,
    and a short table's columns then waste most of theirs (and can cost a round trip).
    """

    def __init__(self, columns: tuple[str, ...]) -> None:
        by_table: dict[str, list[str]] = {}
        for column in columns:
            by_table.setdefault(column.rpartition(".")[0], []).append(column)
        self.pending = tuple(table[0] for table in by_table.values())
        self._waiting = {table[0]: tuple(table[1:]) for table in by_table.values()}
        self._first = {column: table[0] for table in by_table.values() for column in table}
        self._last: dict[str, str] = {}
        self._rows: dict[str, int] = {}
        self._done: set[str] = set()
        self._indexes: dict[str, list[str]] = {}  # first column -> its rows' indexes, in order
        self._cells: dict[str, list[str]] = {}  # column -> the OIDs left to ask successors of
        self.found: list[VarBind] = []

    def starts(self) -> tuple[str, ...]:
        """The OIDs to ask the successors of, one per pending column."""
        return tuple(self._last.get(column, column) for column in self.pending)

    def _at_most(self, column: str) -> int | None:
        """How many rows COLUMN has at most: its first column's, once that one has ended."""
        first = self._first[column]
        return self._rows.get(first, 0) if first != column and first in self._done else None

    def repetitions(self, guess: int) -> int:
        """Enough for every pending column: GUESS, or what the known sizes need, if less."""
        needs = []
        for column in self.pending:
            at_most = self._at_most(column)
            needs.append(guess if at_most is None else at_most - self._rows.get(column, 0))
        return max(1, min(guess, max(needs, default=1)))

    def took(self, varbinds: list[VarBind]) -> None:
        """A GETBULK answer (repeaters only) for `pending`, in wire order."""
        asked = self.pending
        kept, self._last, ended = split_bulk_response(asked, self._last, varbinds)
        self.found += kept
        for column in asked:
            prefix = column + "."
            rows = [oid[len(prefix) :] for oid, _ in kept if oid.startswith(prefix)]
            self._rows[column] = self._rows.get(column, 0) + len(rows)
            if self._first[column] == column:
                self._indexes.setdefault(column, []).extend(rows)
        self._done |= ended
        joining: list[str] = []
        for column in asked:
            if column in self._waiting and (column in self._last or column in ended):
                followers = self._waiting.pop(column)
                joining += followers if column in self._last else ()
        for column in asked:  # a column that has all the rows its table has is done
            at_most = self._at_most(column)
            if at_most is not None and self._rows.get(column, 0) >= at_most:
                self._done.add(column)
        self.pending = tuple(c for c in asked if c not in self._done) + tuple(joining)

    def take_cells(self) -> None:
        """Move the pending columns whose first column has ended to cells (see the class)."""
        for column in self.pending:
            starts = self._cell_starts(column)
            if starts is not None:
                self._cells[column] = starts
        self.pending = tuple(c for c in self.pending if c not in self._cells)
        for column in [c for c, starts in self._cells.items() if not starts]:
            del self._cells[column]
            self._done.add(column)

    def _cell_starts(self, column: str) -> list[str] | None:
        """The OIDs whose successors are COLUMN's remaining rows; None: not known (yet)."""
        first = self._first[column]
        if first == column or first not in self._done:
            return None
        indexes = self._indexes.get(first, [])
        last = self._last.get(column)
        if last is None:
            return [column] + [f"{column}.{index}" for index in indexes[:-1]]
        index = last[len(column) + 1 :]
        if index not in indexes:  # a row its first column lacks: walk it as before
            return None
        return [f"{column}.{i}" for i in indexes[indexes.index(index) : -1]]

    def cells(self, room: int) -> tuple[tuple[str, str], ...]:
        """Up to ROOM (column, OID) pairs to ask the successors of, as non-repeaters."""
        pairs = [(column, oid) for column, starts in self._cells.items() for oid in starts]
        return tuple(pairs[: max(0, room)])

    def took_cells(self, asked: tuple[tuple[str, str], ...], varbinds: list[VarBind]) -> None:
        """The non-repeaters' answers for the cells ASKED, in order (a truncated answer
        leaves the cells it lacks to be asked again). An answer outside its column, or not
        after the last OID read in it (a row missing in a sparse column), is not kept."""
        for (column, start), (oid, value) in zip(asked, varbinds, strict=False):
            self._cells[column].remove(start)
            previous = self._last.get(column)
            inside = oid.startswith(column + ".") and value is not None
            if inside and (previous is None or _oid_key(oid) > _oid_key(previous)):
                self.found.append((oid, value))
                self._last[column] = oid
                self._rows[column] = self._rows.get(column, 0) + 1
        for column in [c for c, starts in self._cells.items() if not starts]:
            del self._cells[column]
            self._done.add(column)

    @property
    def cells_left(self) -> bool:
        return bool(self._cells)


@dataclass(frozen=True)
class Table:
    """One key of the probe's data: the columns walked for it and the parser of their varbinds."""

    key: str
    columns: tuple[str, ...]
    parse: Callable[[Iterable[VarBind]], list[Row]]
    data_key: str = ""  # where the rows go in the probe's data: KEY unless given

    @property
    def stored_as(self) -> str:
        return self.data_key or self.key


TABLES = (
    Table("storage", columns(HR_STORAGE_ENTRY, 2, 3, 4, 5, 6), parse_storage),
    Table("processors", columns(HR_PROCESSOR_ENTRY, 1, 2), parse_processors),
    Table(
        "interfaces", columns(IF_ENTRY, 2, 5, 6, 7, 8) + columns(IFX_ENTRY, 1, 15), parse_interfaces
    ),
    Table(
        "addresses", columns(IP_ADDR_ENTRY, 2) + columns(IP_ADDRESS_ENTRY, 3, 4), parse_addresses
    ),
    Table("entities", columns(ENT_PHYSICAL_ENTRY, 2, 5, 7, 11, 13), parse_entities),
    # What verify's checks compare, less what they do not read (`snapshot take` reads the
    # full tables): the processors counted from hrProcessorFrwID alone (the table walk asks
    # hrProcessorLoad only for the rows the first column has: it never adds a row; one
    # value a CPU less); the physical entities' serial numbers with their models (no
    # description, class or name: three values a row less); the addresses without
    # ipAddressIfIndex (IPv6 rows get no if_index; a third of verify's values).
    Table(
        "processor-count", columns(HR_PROCESSOR_ENTRY, 1), parse_processors, data_key="processors"
    ),
    Table(
        "entity-serials", columns(ENT_PHYSICAL_ENTRY, 11, 13), parse_entities, data_key="entities"
    ),
    Table(
        "address-set",
        columns(IP_ADDR_ENTRY, 2) + columns(IP_ADDRESS_ENTRY, 4),
        parse_addresses,
        data_key="addresses",
    ),
    # Walked only when asked for (health collection), not by default.
    Table(
        "traffic", columns(IF_ENTRY, 13, 14, 19, 20) + columns(IFX_ENTRY, 1, 6, 10), parse_traffic
    ),
)
DEFAULT_TABLES = ("storage", "processors", "interfaces", "addresses", "entities")
