"""Working days and service levels: weekends, Indonesian public holidays (the `holidays`
library), configured cuti bersama, and the data center's time zone. A frozen clock: every
moment is an argument."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pelihara.core.config import load_config
from pelihara.core.errors import ConfigurationError
from pelihara.maintenance.calendar import (
    WorkCalendar,
    deadline,
    met,
    public_holidays,
    work_calendar,
)

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkCalendar(WIB)


def wib(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WIB)  # type: ignore[misc]


def test_a_friday_afternoon_step_is_due_monday_night() -> None:
    due = deadline(wib(2026, 11, 13, 16, 0), 1, CAL)  # Friday 13 November 2026
    assert due.due_day == date(2026, 11, 16)  # Monday
    assert due.last_moment().astimezone(WIB) == wib(2026, 11, 16, 23, 59, 59)
    assert due.met_by(wib(2026, 11, 16, 23, 59, 59))
    assert not due.met_by(wib(2026, 11, 17, 0, 0))
    assert not due.missed_at(wib(2026, 11, 16, 23, 0)) and due.missed_at(wib(2026, 11, 17, 0, 0))


def test_the_start_day_never_counts_whatever_the_hour() -> None:
    assert deadline(wib(2026, 11, 10, 0, 1), 1, CAL).due_day == date(2026, 11, 11)
    assert deadline(wib(2026, 11, 10, 23, 59), 2, CAL).due_day == date(2026, 11, 12)


def test_a_public_holiday_from_the_library_is_not_a_working_day() -> None:
    assert date(2026, 8, 17) in public_holidays()  # Hari Kemerdekaan, a Monday
    due = deadline(wib(2026, 8, 14, 16, 0), 1, CAL)  # Friday before it
    assert due.due_day == date(2026, 8, 18)
    assert met(wib(2026, 8, 14, 16, 0), 1, wib(2026, 8, 18, 20, 0), CAL)
    without = WorkCalendar(WIB, public=frozenset())
    assert deadline(wib(2026, 8, 14, 16, 0), 1, without).due_day == date(2026, 8, 17)


def test_a_step_started_on_a_holiday_counts_from_the_next_working_day() -> None:
    assert deadline(wib(2026, 8, 17, 10, 0), 1, CAL).due_day == date(2026, 8, 18)
    assert deadline(wib(2026, 11, 15, 10, 0), 1, CAL).due_day == date(2026, 11, 16)  # Sunday


def test_a_configured_cuti_bersama_day_is_skipped(tmp_path: Path) -> None:
    toml = tmp_path / "pelihara.toml"
    toml.write_text('[calendar]\nextra_holidays = ["2026-12-24", 2026-12-28]\n')
    cal = work_calendar(load_config(toml))
    assert cal.zone == WIB and cal.extra == {date(2026, 12, 24), date(2026, 12, 28)}
    assert date(2026, 12, 25) in public_holidays()  # Christmas, a Friday
    # Wednesday 23rd + 1: Thursday 24th cuti bersama, Friday 25th Christmas, the weekend,
    # Monday 28th cuti bersama: Tuesday 29th.
    assert deadline(wib(2026, 12, 23, 9, 0), 1, cal).due_day == date(2026, 12, 29)
    assert deadline(wib(2026, 12, 23, 9, 0), 1, CAL).due_day == date(2026, 12, 24)


@pytest.mark.parametrize("value", ['"24-12-2026"', "[1]", '"tomorrow"'])
def test_a_bad_extra_day_names_the_file_and_key(tmp_path: Path, value: str) -> None:
    toml = tmp_path / "pelihara.toml"
    toml.write_text(f"[calendar]\nextra_holidays = {value}\n")
    with pytest.raises(ConfigurationError, match=r"pelihara\.toml: \[calendar\] extra_holidays"):
        work_calendar(load_config(toml))


def test_days_are_read_in_the_data_centers_zone() -> None:
    late = datetime(2026, 11, 12, 23, 30, tzinfo=UTC)  # Thursday in UTC, Friday 06:30 WIB
    assert CAL.local_day(late) == date(2026, 11, 13)
    assert deadline(late, 1, CAL).due_day == date(2026, 11, 16)  # Friday + 1: Monday
    assert deadline(late, 1, WorkCalendar(UTC)).due_day == date(2026, 11, 13)
    naive = datetime(2026, 11, 12, 23, 30)  # naive is UTC, as SQLite returns it
    assert deadline(naive, 1, CAL) == deadline(late, 1, CAL)
    # The day ends at midnight WIB, which is 17:00 UTC.
    assert deadline(late, 1, CAL).ends == datetime(2026, 11, 16, 17, 0, tzinfo=UTC)


def test_a_zone_east_of_jakarta_ends_the_day_earlier() -> None:
    wit = WorkCalendar(ZoneInfo("Asia/Jayapura"))
    assert deadline(wib(2026, 11, 13, 9, 0), 1, wit).ends == datetime(
        2026, 11, 16, 15, 0, tzinfo=UTC
    )


def test_a_service_level_below_one_day_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 working day"):
        deadline(wib(2026, 11, 13, 9, 0), 0, CAL)
