"""The inventory's file columns: one parser per column, each raising ValueError with a reason.

A column's parser turns a cell's text into the stored value (or None for an empty cell).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from pelihara.inventory.aliases import STATUS_ALIASES
from pelihara.inventory.models import ServerStatus
from pelihara.inventory.numbers import parse_number

Value = str | int | float | list[str] | None
Parser = Callable[[str], Value]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_CREDENTIAL = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_NUMERIC_LABEL = re.compile(r"^(?:\d+|0x[0-9a-f]*)$")


def text(limit: int) -> Parser:
    def parse(cell: str) -> str:
        if len(cell) > limit:
            raise ValueError(f"longer than {limit} characters")
        return cell

    return parse


def hostname(cell: str) -> str:
    """A single DNS label, lowercase: `dinkes-web01`."""
    value = cell.lower()
    if not _HOSTNAME.match(value):
        raise ValueError(
            f"{cell!r} is not a valid hostname (letters, digits and '-', "
            "at most 63, not starting or ending with '-')"
        )
    return value


def _numeric(label: str) -> bool:
    """A label a resolver would read as part of an IPv4 address (`300`, `0x7f`): the last label
    of a name is never one (RFC 3696 2; the URL standard's "ends in a number")."""
    return bool(_NUMERIC_LABEL.match(label))


def domain(cell: str) -> str:
    """A fully qualified domain name, lowercase, without the trailing dot (RFC 1123 LDH);
    its last label is not all digits (`10.0.0.300` is a bad address, not a domain)."""
    value = cell.lower().removesuffix(".")
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            f"{cell!r} is not a valid domain name (at least two dot-separated labels of "
            "letters, digits and '-', each at most 63, not starting or ending with '-')"
        )
    if _numeric(labels[-1]):
        raise ValueError(
            f"{cell!r} is not a valid domain name: its last label is a number (an IP address "
            "has four numbers from 0 to 255)"
        )
    return value


def ip_list(cell: str) -> list[str]:
    """One or more IPv4/IPv6 addresses separated by spaces or commas; the first is primary."""
    parts = [part for part in re.split(r"[\s,]+", cell) if part]
    addresses: list[str] = []
    for part in parts:
        try:
            addresses.append(ipaddress.ip_address(part).compressed)
        except ValueError:
            raise ValueError(f"{part!r} is not an IPv4 or IPv6 address") from None
    if len(set(addresses)) != len(addresses):
        raise ValueError("the same address is listed twice")
    return addresses


@dataclass(frozen=True)
class NumberParser:
    """A number column's parser: whole numbers (WHOLE) in LOW..HIGH, or decimals above LOW
    up to HIGH. A class, not a closure: validation finds the number columns by it."""

    low: float
    high: float
    whole: bool

    def __call__(self, cell: str) -> int | float:
        value = number(cell)
        if not self.whole:
            if not self.low < value <= self.high:
                raise ValueError(
                    f"{cell} is out of range (more than {self.low:g}, at most {self.high:g})"
                )
            return value
        if value != int(value):
            raise ValueError(f"{cell!r} is not a whole number")
        if not self.low <= value <= self.high:
            raise ValueError(f"{cell} is out of range {int(self.low)}..{int(self.high)}")
        return int(value)


def integer(low: int, high: int) -> NumberParser:
    return NumberParser(low, high, whole=True)


def decimal(low: float, high: float) -> NumberParser:
    return NumberParser(low, high, whole=False)


def number(cell: str) -> float:
    """A number written with a decimal point or a decimal comma (`15.5`, `15,5`); `1.920`
    alone is ambiguous (`numbers.py`: a file's other numbers may settle it)."""
    return parse_number(cell)


def choice(values: tuple[str, ...]) -> Parser:
    def parse(cell: str) -> str:
        value = cell.lower()
        if value not in values:
            raise ValueError(f"{cell!r} is not one of: {', '.join(values)}")
        return value

    return parse


def status(cell: str) -> str:
    """`active`, `maintenance` or `withdrawn`, or the same in Indonesian (`aktif`, ...)."""
    value = cell.lower()
    if value in STATUS_ALIASES:
        return STATUS_ALIASES[value]
    names = (*(member.value for member in ServerStatus), *STATUS_ALIASES)
    if value not in names:
        raise ValueError(f"{cell!r} is not one of: {', '.join(names)}")
    return value


def host_or_address(cell: str) -> str:
    """An SSH target: an IP address, a domain name or a single label (not a number)."""
    try:
        return ipaddress.ip_address(cell).compressed
    except ValueError:
        pass
    if "." in cell:
        return domain(cell)
    if _numeric(cell.lower()):
        raise ValueError(f"{cell!r} is neither an IP address nor a host name")
    return hostname(cell)


def pattern(regex: re.Pattern[str], description: str) -> Parser:
    def parse(cell: str) -> str:
        if not regex.match(cell):
            raise ValueError(f"{cell!r} is not {description}")
        return cell

    return parse


@dataclass(frozen=True)
class Field:
    name: str
    parse: Parser
    required: bool = False


FIELDS: tuple[Field, ...] = (
    Field("hostname", hostname, required=True),
    Field("ip", ip_list, required=True),
    Field("domain", domain, required=True),
    Field("opd", text(200), required=True),
    Field("site", text(100)),
    Field("rack", text(50)),
    Field("rack_unit", integer(1, 60)),
    Field("vendor", text(100)),
    Field("model", text(100)),
    Field("serial", text(100)),
    Field("asset_tag", text(100)),
    Field("status", status),
    Field("cpu_cores", integer(1, 4096)),
    Field("memory_gb", decimal(0, 1_048_576)),
    Field("disk_gb", decimal(0, 1_000_000_000)),
    Field("os", text(100)),
    Field("ssh_host", host_or_address),
    Field("ssh_port", integer(1, 65535)),
    Field("ssh_user", pattern(_USER, "a valid user name")),
    Field("snmp_port", integer(1, 65535)),
    Field("snmp_version", choice(("2c", "3"))),
    Field("snmp_credential", pattern(_CREDENTIAL, "a credential name (letters, digits, _ . -)")),
    Field("notes", text(2000)),
)
FIELD_BY_NAME = {field.name: field for field in FIELDS}
COLUMN_NAMES = tuple(field.name for field in FIELDS)
REQUIRED = tuple(field.name for field in FIELDS if field.required)
