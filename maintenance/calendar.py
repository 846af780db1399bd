"""Working days and service levels: when a step is due, and whether it was done in time.

The rule (the README's "Service levels"): a step with a service level of N working days is
due by the END of the N-th working day AFTER the day it started, both days read in the data
center's time zone. The start day never counts, whatever the hour, so a step started Friday
16:00 WIB with 1 working day is due Monday 23:59:59 WIB (Tuesday, when Monday is a public
holiday). A working day is Monday to Friday, not an Indonesian public holiday (the `holidays`
library, country ID) and not one of the configured extra days (*cuti bersama*):

    [calendar]
    extra_holidays = ["2026-12-24", 2026-12-31]   # ISO texts or TOML dates

Pure: every function takes the moments it compares; none reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import holidays

from pelihara.core.config import Config
from pelihara.core.errors import ConfigurationError
from pelihara.core.times import as_utc, display_zone

TABLE = "calendar"
EXTRA = "extra_holidays"
COUNTRY = "ID"
SATURDAY = 5
LONGEST_SEARCH = 3660  # days: no sane service level needs more; a calendar of no working day


def public_holidays() -> Collection[dt.date]:
    """Indonesia's public holidays (every year, computed when asked)."""
    return holidays.country_holidays(COUNTRY)


@dataclass(frozen=True)
class WorkCalendar:
    """The working days of one data center: its zone, public holidays and extra days off."""

    zone: dt.tzinfo
    public: Collection[dt.date] = field(default_factory=public_holidays)
    extra: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < SATURDAY and day not in self.extra and day not in self.public

    def local_day(self, moment: dt.datetime) -> dt.date:
        """The date of MOMENT in the zone (a naive moment is UTC)."""
        return as_utc(moment).astimezone(self.zone).date()

    def working_day_after(self, day: dt.date, count: int) -> dt.date:
        """The COUNT-th working day after DAY (DAY itself never counts)."""
        found = 0
        for offset in range(1, LONGEST_SEARCH):
            candidate = day + dt.timedelta(days=offset)
            found += self.is_working_day(candidate)
            if found == count:
                return candidate
        raise ConfigurationError(f"no {count} working days in ten years after {day}")

    def end_of(self, day: dt.date) -> dt.datetime:
        """The first moment after DAY in the zone (midnight starting the next day), in UTC."""
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=self.zone)
        return midnight.astimezone(dt.UTC)


@dataclass(frozen=True)
class Deadline:
    """When a step is due: its last working day, and the moment that day ends (exclusive)."""

    due_day: dt.date
    ends: dt.datetime  # UTC; done strictly before this is in time

    def met_by(self, done: dt.datetime) -> bool:
        """Whether a step done at DONE met its service level."""
        return as_utc(done) < self.ends

    def missed_at(self, now: dt.datetime) -> bool:
        """Whether a step still open at NOW is past its service level (overdue)."""
        return as_utc(now) >= self.ends

    def last_moment(self) -> dt.datetime:
        """The last second of the due day (`23:59:59` in the zone), for people to read."""
        return self.ends - dt.timedelta(seconds=1)


def deadline(start: dt.datetime, working_days: int, calendar: WorkCalendar) -> Deadline:
    """The deadline of a step started at START with a service level of WORKING_DAYS."""
    if working_days < 1:
        raise ValueError(f"a service level is at least 1 working day, not {working_days}")
    due = calendar.working_day_after(calendar.local_day(start), working_days)
    return Deadline(due, calendar.end_of(due))


def met(start: dt.datetime, working_days: int, done: dt.datetime, cal: WorkCalendar) -> bool:
    """Whether a step started at START and done at DONE met its WORKING_DAYS."""
    return deadline(start, working_days, cal).met_by(done)


def _day(value: Any, config: Config, position: int) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigurationError(
        f"{config.path}: [{TABLE}] {EXTRA}, item {position}: {value!r} is not a date "
        '(write "2026-12-24")'
    )


def extra_holidays(config: Config) -> frozenset[dt.date]:
    """`[calendar] extra_holidays` of CONFIG: the configured days off (cuti bersama)."""
    values = config.table(TABLE).get(EXTRA, [])
    if not isinstance(values, list):
        raise ConfigurationError(
            f'{config.path}: [{TABLE}] {EXTRA} must be a list of dates: ["2026-12-24"]'
        )
    return frozenset(_days(values, config))


def _days(values: Iterable[Any], config: Config) -> Iterable[dt.date]:
    return (_day(value, config, position) for position, value in enumerate(values, start=1))


def work_calendar(config: Config, zone: dt.tzinfo | None = None) -> WorkCalendar:
    """The data center's calendar from CONFIG: ZONE (default: the configured time zone),
    Indonesia's public holidays and `[calendar] extra_holidays`."""
    return WorkCalendar(zone or display_zone(config), extra=extra_holidays(config))
