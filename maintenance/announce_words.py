"""The announcement's words, one `Words` per language (`id`, `en`): one dispatch point.

Dates the Indonesian way, the day named, times with a dot and the zone's abbreviation:

>>> from datetime import date, datetime
>>> from zoneinfo import ZoneInfo
>>> long_date(date(2026, 3, 10), "id"), long_date(date(2026, 3, 10), "en")
('10 Maret 2026', '10 March 2026')
>>> wib = ZoneInfo("Asia/Jakarta")
>>> WORDS["id"].span(datetime(2026, 3, 10, 20, tzinfo=wib), datetime(2026, 3, 10, 23, tzinfo=wib))
'Selasa, 10 Maret 2026 pukul 20.00 s.d. 23.00 WIB'
>>> WORDS["id"].duration(datetime(2026, 3, 11, 2, 30) - datetime(2026, 3, 10, 20))
'6 jam 30 menit'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pelihara.core.times import DAYS, long_date
from pelihara.maintenance.organisation import Organisation

LANGUAGES = ("id", "en")


def duration_parts(length: timedelta) -> tuple[int, int, int]:
    """LENGTH as (days, hours, minutes), rounded down to the minute."""
    minutes = int(length.total_seconds()) // 60
    return minutes // 1440, minutes % 1440 // 60, minutes % 60


@dataclass(frozen=True)
class Words:
    """The fixed phrases of one language; `{...}` are filled by `announce.compose`."""

    lang: str
    subject: str
    greeting: str
    opening: str
    service: str
    when_label: str
    length_label: str
    apology: str
    contacts_label: str
    reference: str
    regards: str
    unset_day: str
    unset_when: str
    unset_length: str
    phone: str  # "telp." / "phone"
    at: str  # "pukul" / "at": before a time
    until: str
    time_separator: str  # 20.00 in Indonesian, 20:00 in English
    units: tuple[tuple[str, str], tuple[str, str], tuple[str, str]]  # (one, many) per unit

    def moment(self, moment: datetime, with_day: bool = True) -> str:
        """`Selasa, 10 Maret 2026 pukul 20.00` (WITH_DAY False: `20.00`)."""
        clock = moment.strftime(f"%H{self.time_separator}%M")
        if not with_day:
            return clock
        day = f"{DAYS[self.lang][moment.weekday()]}, {long_date(moment.date(), self.lang)}"
        return f"{day} {self.at} {clock}"

    def span(self, start: datetime, end: datetime) -> str:
        """From START to END (both in the data center's zone), the zone named once or twice."""
        zone = start.strftime("%Z")
        if start.date() == end.date():
            return f"{self.moment(start)} {self.until} {self.moment(end, False)} {zone}"
        return f"{self.moment(start)} {zone} {self.until} {self.moment(end)} {end.strftime('%Z')}"

    def duration(self, length: timedelta) -> str:
        """`6 jam 30 menit`, `1 hari 2 jam` (`1 day 2 hours`); under a minute: `0 menit`."""
        parts = [f"{n} {unit[n != 1]}" for n, unit in zip(duration_parts(length), self.units,
                                                           strict=True) if n]  # fmt: skip
        return " ".join(parts) or f"0 {self.units[2][1]}"

    def staff_of(self, organisation: Organisation | None) -> str:
        """How the staff member is named in the contacts: `Tim Data Center, Dinas ...`."""
        return "Tim Data Center" + (f", {organisation.unit}" if organisation else "")


WORDS = {
    "id": Words(
        lang="id",
        subject="[{ref}] Pemberitahuan penghentian layanan sementara: {domains} ({when})",
        greeting="Yth. Bapak/Ibu pengguna layanan {opd},",
        opening="Sehubungan dengan pemeliharaan server ({summary}), layanan berikut akan "
                "dihentikan sementara:",
        service="- {domain} (server {host}, alamat {addr})",
        when_label="Waktu", length_label="Lama",
        apology="Selama waktu tersebut layanan di atas tidak dapat diakses. Mohon maaf atas "
                "ketidaknyamanan ini.",
        contacts_label="Narahubung:",
        reference="Referensi: tiket {ref}, surat {letter} tanggal {date}.",
        regards="Hormat kami,",
        unset_day="waktu belum ditetapkan",
        unset_when="belum ditetapkan; akan diberitahukan kemudian",
        unset_length="belum ditetapkan",
        phone="telp.", at="pukul", until="s.d.", time_separator=".",
        units=(("hari", "hari"), ("jam", "jam"), ("menit", "menit")),
    ),
    "en": Words(
        lang="en",
        subject="[{ref}] Notice of a temporary service stop: {domains} ({when})",
        greeting="To the users of the services of {opd},",
        opening="For the maintenance of servers ({summary}), the following services will "
                "stop for a while:",
        service="- {domain} (server {host}, addresses {addr})",
        when_label="When", length_label="For",
        apology="During that time the services above cannot be reached. We apologise for the "
                "inconvenience.",
        contacts_label="Contacts:",
        reference="Reference: ticket {ref}, letter {letter} of {date}.",
        regards="Kind regards,",
        unset_day="time not set yet",
        unset_when="not set yet; to be announced",
        unset_length="not set yet",
        phone="phone", at="at", until="to", time_separator=":",
        units=(("day", "days"), ("hour", "hours"), ("minute", "minutes")),
    ),
}  # fmt: skip
