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

Value = str | int | float | list[str] | None
Parser = Callable[[str], Value]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_CREDENTIAL = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


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


def domain(cell: str) -> str:
    """A fully qualified domain name, lowercase, without the trailing dot (RFC 1123 LDH)."""
    value = cell.lower().removesuffix(".")
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            f"{cell!r} is not a valid domain name (at least two dot-separated labels of "
            "letters, digits and '-', each at most 63, not starting or ending with '-')"
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


def integer(low: int, high: int) -> Parser:
    def parse(cell: str) -> int:
        value = number(cell)
        if value != int(value):
            raise ValueError(f"{cell!r} is not a whole number")
        if not low <= value <= high:
            raise ValueError(f"{cell} is out of range {low}..{high}")
        return int(value)

    return parse


def decimal(low: float, high: float) -> Parser:
    def parse(cell: str) -> float:
        value = number(cell)
        if not low < value <= high:
            raise ValueError(f"{cell} is out of range (more than {low:g}, at most {high:g})")
        return value

    return parse


def number(cell: str) -> float:
    """A number written with a decimal point or a decimal comma (`15.5`, `15,5`)."""
    stripped = cell.replace(" ", "")
    if "," in stripped and "." in stripped:
        raise ValueError(f"{cell!r}: write the number without thousands separators")
    try:
        return float(stripped.replace(",", "."))
    except ValueError:
        raise ValueError(f"{cell!r} is not a number") from None


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
    """An SSH target: an IP address or a domain name."""
    try:
        return ipaddress.ip_address(cell).compressed
    except ValueError:
        pass
    try:
        return domain(cell)
    except ValueError:
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
