"""Numbers as people write them in spreadsheets: `15,5` and `15.5`, `1 024`, and the
ambiguous `1.920`.

A cell shaped like a thousands-grouped integer with ONE group (`1.920`, `1,024`) means 1920
where `.` groups thousands and the comma is the decimal sign (Indonesian Excel), and 1.92
where the point is the decimal sign. Taken alone it is refused as ambiguous. A file settles
it only when its other numbers show one convention and never the other (`convention`):

- a decimal comma (`15,5`: a comma not followed by exactly three digits) or dots grouping
  thousands twice (`1.024.000`) show the decimal COMMA: `1.920` is 1920, `1,024` is 1.024;
- a decimal point (`15.5`) or commas grouping twice (`1,024,000`) show the decimal POINT:
  `1.920` is 1.92, `1,024` is 1024;
- both, or neither: every ambiguous cell is refused, with how to write it.

>>> parse_number(settle("1.920", convention(["15,5", "1.920"])))
1920.0
>>> convention(["15,5", "2.5"]) is None
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

_GROUPED = re.compile(r"^[1-9]\d{0,2}(?P<sep>[.,])\d{3}(?:(?P=sep)\d{3})*$")
_PLAIN = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$", re.IGNORECASE)

COMMA, POINT = ",", "."  # the decimal sign of a file's convention


class Exact(str):
    """A cell that held a number, not text (an XLSX numeric cell), in Python's notation
    (`1.024`): never ambiguous, and no evidence of how the file's text is written."""

    __slots__ = ()


def _unsigned(cell: str) -> tuple[str, str]:
    """The sign and the rest, without the spaces that group digits (`1 024`)."""
    stripped = cell.replace(" ", "").replace("\u00a0", "")
    if stripped[:1] in ("+", "-"):
        return stripped[0], stripped[1:]
    return "", stripped


def _grouped(body: str) -> tuple[str, int] | None:
    """(separator, number of groups) of a thousands-grouped integer like `1.024.000`."""
    found = _GROUPED.match(body)
    return (found["sep"], body.count(found["sep"])) if found else None


def evidence(cell: str) -> str | None:
    """The decimal sign CELL shows its file uses (COMMA or POINT), or None.

    >>> [evidence(c) for c in ("15,5", "15.5", "1.024.000", "1.920", "64", "1.024,5")]
    [',', '.', ',', None, None, None]
    """
    if isinstance(cell, Exact):
        return None
    body = _unsigned(cell)[1]
    grouped = _grouped(body)
    if grouped is not None:
        separator, groups = grouped
        if groups == 1:
            return None  # the ambiguous shape itself
        return COMMA if separator == POINT else POINT
    if body.count(",") == 1 and "." not in body:
        return COMMA
    if body.count(".") == 1 and "," not in body:
        return POINT
    return None


def convention(cells: Iterable[str]) -> str | None:
    """The decimal sign a file's number cells show (COMMA or POINT), or None when they show
    neither or both."""
    shown = {sign for sign in map(evidence, cells) if sign is not None}
    return shown.pop() if len(shown) == 1 else None


def settle(cell: str, decimal: str | None) -> str:
    """CELL rewritten without ambiguity under the file's DECIMAL sign (`1.920` → `1920` with
    COMMA); unchanged when it is not ambiguous or the convention is not known."""
    if decimal is None or isinstance(cell, Exact):
        return cell
    sign, body = _unsigned(cell)
    grouped = _grouped(body)
    if grouped is None or grouped[1] != 1:
        return cell
    separator = grouped[0]
    if separator == decimal:
        return f"{sign}{body.replace(separator, '.')}0"  # a fourth decimal: no group any more
    return f"{sign}{body.replace(separator, '')}"


def _choices(body: str) -> tuple[str, str]:
    """What an ambiguous cell may mean, each written so that it is not ambiguous:
    `1.920` → (`1920`, `1.92`); `1,024` → (`1024`, `1,0240`): four decimals are no group."""
    separator = COMMA if COMMA in body else POINT
    whole, fraction = body.split(separator)
    integer = whole + fraction
    fraction = fraction.rstrip("0")
    if not fraction:
        return integer, whole
    if len(fraction) == 3:
        fraction += "0"
    return integer, f"{whole}{separator}{fraction}"


def parse_number(cell: str) -> float:
    """A finite number written with a decimal point or comma (`15.5`, `15,5`), digits grouped
    by spaces (`1 024`) or by `.`/`,` twice or more (`1.024.000`). ValueError says why not.

    >>> [parse_number(c) for c in ("15,5", "-2", "1 024", "1.024.000")]
    [15.5, -2.0, 1024.0, 1024000.0]
    """
    if isinstance(cell, Exact):
        return float(cell)
    sign, body = _unsigned(cell)
    if "," in body and "." in body:
        raise ValueError(f"{cell!r}: write the number without thousands separators")
    grouped = _grouped(body)
    if grouped is not None and grouped[1] == 1:
        whole, decimal = _choices(body)
        raise ValueError(
            f"{cell!r} is ambiguous (is {body[-4]!r} a thousands separator or the decimal "
            f"sign?): write {sign}{whole} or {sign}{decimal}"
        )
    if grouped is not None:
        body = body.replace(grouped[0], "")
    body = body.replace(",", ".")
    if not _PLAIN.match(body):
        raise ValueError(f"{cell!r} is not a number")
    value = float(sign + body)
    if not math.isfinite(value):
        raise ValueError(f"{cell!r} is not a number (too large)")
    return value
