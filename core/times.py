"""Times as people read them: in the data center's time zone, the zone named.

Times are stored in UTC; a table shows them in the zone of `[display] time_zone` in
`pelihara.toml` (an IANA name, default Asia/Jakarta), one format everywhere:

>>> local_text(datetime(2026, 3, 4, 3, 15, 2, 987654, tzinfo=UTC), ZoneInfo("Asia/Jakarta"))
'2026-03-04 10:15:02 WIB'
>>> local_text(datetime(2026, 3, 4, 3, 15, 2), ZoneInfo("Asia/Jayapura"))  # naive: UTC
'2026-03-04 12:15:02 WIT'

JSON keeps ISO-8601 in UTC, with its offset (`iso_text`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pelihara.core.config import Config
from pelihara.core.errors import ConfigurationError

DEFAULT_ZONE = "Asia/Jakarta"
TABLE = "display"
FORMAT = "%Y-%m-%d %H:%M:%S %Z"
# The names of the months and days in the users' language and in English: the documents,
# the announcement, the charts and the reading of spreadsheet dates all write them so.
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
           "September", "Oktober", "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip
DAYS = {  # Monday first, as date.weekday() counts
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def long_date(day: date, lang: str = "id") -> str:
    """DAY as people write it: `3 Desember 2026` (`3 December 2026` with LANG en).

    >>> long_date(date(2026, 12, 3)), long_date(date(2026, 12, 3), "en")
    ('3 Desember 2026', '3 December 2026')
    """
    return f"{day.day} {MONTHS['en' if lang == 'en' else 'id'][day.month - 1]} {day.year}"


def display_zone(config: Config) -> tzinfo:
    """The zone of `[display] time_zone` (default Asia/Jakarta); a name that is no IANA
    zone is a configuration error. Without any zone database (a bare container) the
    default falls back to UTC rather than stopping the command."""
    name = config.table(TABLE).get("time_zone", DEFAULT_ZONE)
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"{config.path}: [{TABLE}] time_zone must be a zone name")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:
            return UTC
        raise ConfigurationError(
            f"{config.path}: [{TABLE}] time_zone {name!r} is not a time zone (an IANA name: "
            "Asia/Jakarta, Asia/Makassar, Asia/Jayapura, UTC)"
        ) from None


def as_utc(moment: datetime) -> datetime:
    """MOMENT, aware, in UTC; a naive time is taken as UTC (SQLite hands them back so)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local_text(moment: datetime, zone: tzinfo) -> str:
    """MOMENT in ZONE to the second, the zone named: `2026-03-04 10:15:02 WIB`."""
    return as_utc(moment).astimezone(zone).strftime(FORMAT)


def iso_text(moment: datetime) -> str:
    """MOMENT as ISO-8601 in UTC with its offset, for JSON: `2026-03-04T03:15:02.987654Z`.

    >>> iso_text(datetime(2026, 3, 4, 10, 15, 2, tzinfo=ZoneInfo("Asia/Jakarta")))
    '2026-03-04T03:15:02Z'
    """
    return as_utc(moment).isoformat().replace("+00:00", "Z")
