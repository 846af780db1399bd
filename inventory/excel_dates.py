"""A date in a spreadsheet cell, as Excel in an Indonesian locale shows it.

Excel turns what a person types into a date when it looks like one (`12/03/2021`, `1-2`),
and keeps only a number and a number format. A text column (notes, serial) must get back
what the person saw, never `2021-03-12 00:00:00`: the number format is applied here.

>>> shown_date(datetime(2021, 3, 12), "mm-dd-yy"), shown_date(datetime(2021, 8, 1), "d-mmm")
('12/03/2021', '1-Agu')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pelihara.core.times import DAYS, MONTHS

# Built-in formats 14 and 22 follow the computer's regional settings, whatever openpyxl calls
# them: an Indonesian Windows writes a short date as dd/mm/yyyy.
REGIONAL = {"mm-dd-yy": "dd/mm/yyyy", "m/d/yy h:mm": "dd/mm/yyyy h:mm"}
SHORT_DATE = "dd/mm/yyyy"
EXCEL_EPOCH = datetime(1899, 12, 30)  # day 0 of Excel's 1900 date system, as openpyxl uses it

_TOKENS = re.compile(
    r'"[^"]*"|\\.|\[[^\]]*\]|yyyy|yy|m{1,5}|d{1,4}|h{1,2}|s{1,2}|am/pm|a/p|\.0+|.',
    re.IGNORECASE,
)
_ELAPSED = re.compile(r"^\[(h+|m+|s+)\]$", re.IGNORECASE)
_ENGLISH = re.compile(r"\[\$[^\]]*-(409|809|c09|1009|en\b[^\]]*)\]", re.IGNORECASE)


@dataclass(frozen=True)
class _Moment:
    """The value being shown, and what its format's other tokens decide."""

    at: datetime
    elapsed: timedelta
    language: str
    twelve_hour: bool


def _month(moment: _Moment, token: str) -> str:
    name = MONTHS[moment.language][moment.at.month - 1]
    return {1: str(moment.at.month), 2: f"{moment.at.month:02d}", 3: name[:3], 5: name[0]}.get(
        len(token), name
    )


def _day(moment: _Moment, token: str) -> str:
    name = DAYS[moment.language][moment.at.weekday()]
    return {1: str(moment.at.day), 2: f"{moment.at.day:02d}", 3: name[:3]}.get(len(token), name)


def _hour(moment: _Moment, token: str) -> str:
    hour = moment.at.hour
    if moment.twelve_hour:
        hour = hour % 12 or 12
    return f"{hour:0{len(token)}d}"


def _elapsed(moment: _Moment, token: str) -> str:
    seconds = int(moment.elapsed.total_seconds())
    unit = {"h": 3600, "m": 60, "s": 1}[token[1].lower()]
    return f"{seconds // unit:0{len(token) - 2}d}"


def _meridiem(moment: _Moment, token: str) -> str:
    """`AM/PM` shows AM or PM, `a/p` a or p: as written in the format."""
    return token.split("/")[moment.at.hour >= 12]


_RENDER: dict[str, Callable[[_Moment, str], str]] = {
    "y": lambda m, t: f"{m.at.year:04d}" if len(t) > 2 else f"{m.at.year % 100:02d}",
    "m": _month,
    "d": _day,
    "h": _hour,
    "n": lambda m, t: f"{m.at.minute:0{len(t)}d}",  # `m` that means minutes, see _parts
    "s": lambda m, t: f"{m.at.second:0{len(t)}d}",
    ".": lambda m, t: f"{m.at.microsecond / 1e6:.{len(t) - 1}f}"[1:],
    "a": _meridiem,
    "[": _elapsed,
}


Part = tuple[str, str]  # (kind, text): kind is a key of _RENDER, or "" for text shown as is


def _part(token: str) -> Part:
    """What a token of a number format is: a date or time part, or text shown as is."""
    kind = token[0].lower()
    if token.startswith('"'):
        return "", token[1:-1]
    if token.startswith("\\"):
        return "", token[1:]
    if kind == "[":
        return ("[", token) if _ELAPSED.match(token) else ("", "")  # else a colour or locale
    if kind in "ymdhs" or (kind == "." and len(token) > 1):
        return kind, token
    if token.lower() in ("am/pm", "a/p"):
        return "a", token
    return "", token


def _parts(number_format: str) -> list[Part]:
    """The format's parts; Excel's `m` is minutes right after an hour or before seconds."""
    parts = [_part(token) for token in _TOKENS.findall(number_format)]
    timed = [i for i, (kind, _) in enumerate(parts) if kind and kind in "ymdhs["]
    for place, index in enumerate(timed):
        kind, token = parts[index]
        if kind != "m" or len(token) > 2:
            continue
        before = parts[timed[place - 1]][0] if place else ""
        after = parts[timed[place + 1]][0] if place + 1 < len(timed) else ""
        if before in ("h", "[") or after == "s":
            parts[index] = ("n", token)
    return parts


def _moment(value: datetime | date | time | timedelta, parts: list[Part], fmt: str) -> _Moment:
    if isinstance(value, timedelta):
        at, elapsed = EXCEL_EPOCH + value, value
    elif isinstance(value, datetime):
        at, elapsed = value, value - EXCEL_EPOCH
    else:  # a date alone, or a time of day alone (on Excel's day 0)
        day, clock = (value, time()) if isinstance(value, date) else (EXCEL_EPOCH.date(), value)
        at = datetime.combine(day, clock)
        elapsed = at - EXCEL_EPOCH
    english = bool(_ENGLISH.search(fmt))
    twelve = any(kind == "a" for kind, _ in parts)
    return _Moment(at, elapsed, "en" if english else "id", twelve)


def shown_date(value: datetime | date | time | timedelta, number_format: str) -> str:
    """VALUE as NUMBER_FORMAT shows it; month and day names in Indonesian unless the format
    names an English locale (`[$-409]`)."""
    section = REGIONAL.get(number_format, number_format).split(";")[0]
    parts = _parts(section)
    if not any(kind for kind, _ in parts):
        parts = _parts(SHORT_DATE)  # "General" on a date: Excel shows a short date
    moment = _moment(value, parts, section)
    return "".join(_RENDER[kind](moment, text) if kind else text for kind, text in parts).strip()
