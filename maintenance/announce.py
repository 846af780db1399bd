"""The service-stop announcement (*pengumuman*, SOP step 6): its text, and its sending.

The text says which services stop (each server of the ticket: its domain, hostname and
addresses, from the inventory now), when (the ticket's window in the data center's zone,
`Selasa, 10 Maret 2026 pukul 20.00 s.d. 23.00 WIB`), for how long, whom to contact (the Tim
Data Center member running the command and the OPD's contacts of pelihara.toml, with phone
and e-mail), the ticket and the OPD's letter, signed by the organisation of `[organisation]`.
Bahasa Indonesia by default, English with `lang="en"`. A ticket without a window says the
time is not set yet; such a text is never sent (`NoWindowError`).

`announce_and_record` mails it (`mail.py`) and, once the server took it, records it on the
ticket as an `announcement` record of the SOP's announcement step: data `{to, channel:
"email", source: "sent", subject, message_id}`, sha256 the SHA-256 of the text (`text`, UTF-8),
with its audit entry, in one transaction. A failed send records nothing.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.core.errors import ConfigurationError
from pelihara.core.times import as_utc, iso_text, long_date
from pelihara.inventory.models import IpAddress, Opd, Server
from pelihara.maintenance.advance import step_label
from pelihara.maintenance.announce_words import WORDS, Words
from pelihara.maintenance.mail import Login, MailSettings, message_of, send
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.organisation import Organisation
from pelihara.maintenance.people import People, Person
from pelihara.maintenance.records import NewRecord, RecordedBy, add_record
from pelihara.maintenance.sop import Sop, Step
from pelihara.maintenance.tickets import TicketError, locked

EVIDENCE = "announcement"
CHANNEL = "email"
WIDTH = 72  # the prose paragraphs' lines; the lists keep one item a line


class NoWindowError(TicketError):
    """The ticket has no maintenance window: its announcement cannot say when (status 2)."""


@dataclass(frozen=True)
class Service:
    """One server that stops: its DOMAIN (what users know), HOSTNAME and ADDRESSES."""

    hostname: str
    domain: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Setting:
    """What the text is made from beside the ticket: the PEOPLE of pelihara.toml, the
    ORGANISATION (or None), the data center's ZONE, and STAFF, who runs the command."""

    people: People
    organisation: Organisation | None
    zone: tzinfo
    staff: Person


@dataclass(frozen=True)
class Announcement:
    """The announcement of a ticket: SUBJECT, BODY, and who is to be mailed besides the
    configured recipients (CONTACT_EMAILS, the OPD's contacts)."""

    reference: str
    subject: str
    body: str
    contact_emails: tuple[str, ...] = ()
    has_window: bool = True

    @property
    def text(self) -> str:
        """What is printed, and hashed: the subject, a blank line, the body."""
        return f"{self.subject}\n\n{self.body}"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def announcement_step(sop: Sop) -> Step:
    """The step of SOP whose evidence is the announcement (6 in the packaged SOP)."""
    for step in sop.steps:
        if EVIDENCE in step.evidence:
            return step
    raise TicketError(f"SOP {sop.name} has no step needing an {EVIDENCE}: nothing to announce")


def services(session: Session, ticket: Ticket) -> list[Service]:
    """TICKET's servers as the inventory holds them now, by domain then hostname; the
    primary address first."""
    ids = [server.server_id for server in ticket.servers]
    found = []
    for server in session.scalars(select(Server).where(Server.id.in_(ids))):
        ordered = sorted(server.addresses, key=_address_order)
        found.append(Service(server.hostname, server.domain, tuple(a.address for a in ordered)))
    return sorted(found, key=lambda s: (s.domain, s.hostname))


def _address_order(address: IpAddress) -> tuple[bool, int, str]:
    return (not address.primary, address.version, address.address)


def opd_contacts(session: Session, people: People, ticket: Ticket) -> tuple[Person, ...]:
    """The contacts of TICKET's OPD in pelihara.toml, by its name at opening or now."""
    now = session.get(Opd, ticket.opd_id)
    names = {ticket.opd_name.casefold(), now.name.casefold() if now else ""}
    return tuple(p for p in people.with_role("opd") if (p.opd or "").casefold() in names)


def compose(session: Session, ticket: Ticket, setting: Setting, lang: str = "id") -> Announcement:
    """TICKET's announcement in LANG (`id`, `en`), from the inventory and SETTING."""
    words = WORDS[lang]
    stopped = services(session, ticket)
    contacts = opd_contacts(session, setting.people, ticket)
    window = _window(ticket, setting.zone, words)
    subject = words.subject.format(ref=ticket.reference, domains=_domains(stopped),
                                   when=window.day)  # fmt: skip
    body = "\n".join([
        words.greeting.format(opd=ticket.opd_name), "",
        _wrapped(words.opening.format(summary=" ".join(ticket.summary.split()))), "",
        *(_service_line(s, words) for s in stopped), "",
        f"{words.when_label}: {window.when}", f"{words.length_label}: {window.length}", "",
        _wrapped(words.apology), "", words.contacts_label,
        _contact_line(setting.staff, words.staff_of(setting.organisation), words, setting),
        *(_contact_line(person, ticket.opd_name, words) for person in contacts), "",
        words.reference.format(ref=ticket.reference, letter=ticket.letter_number,
                               date=long_date(ticket.letter_date, lang)), "",
        *_signature(setting.organisation, words),
    ])  # fmt: skip
    emails = tuple(p.email for p in contacts if p.email)
    return Announcement(ticket.reference, subject, body + "\n", emails, window.known)


def _domains(stopped: Sequence[Service]) -> str:
    return ", ".join(dict.fromkeys(s.domain for s in stopped)) or "-"


def _service_line(service: Service, words: Words) -> str:
    addresses = ", ".join(service.addresses) or "-"
    return words.service.format(domain=service.domain, host=service.hostname, addr=addresses)


def _wrapped(paragraph: str) -> str:
    """PARAGRAPH in lines of at most WIDTH characters (a mail is read in narrow windows)."""
    return textwrap.fill(paragraph, WIDTH, break_long_words=False, break_on_hyphens=False)


def _contact_line(person: Person, where: str, words: Words, setting: Setting | None = None) -> str:
    """`- Budi Santoso, Tim Data Center ...: telp. 0812..., email budi@...`; the staff
    member without their own phone or e-mail gets the organisation's."""
    org = setting.organisation if setting else None
    phone = person.phone or (org.phone if org else None)
    email = person.email or (org.email if org else None)
    ways = ", ".join(w for w in (f"{words.phone} {phone}" if phone else "",
                                 f"email {email}" if email else "") if w)  # fmt: skip
    return f"- {person.name}, {where}" + (f": {ways}" if ways else "")


def _signature(organisation: Organisation | None, words: Words) -> list[str]:
    lines = [words.regards, "Tim Data Center"]
    if organisation:
        lines += [organisation.unit, organisation.government, organisation.address]
    return lines


@dataclass(frozen=True)
class WindowText:
    """The window as the text says it: DAY (subject), WHEN, LENGTH; KNOWN False without one."""

    day: str
    when: str
    length: str
    known: bool = True


def _window(ticket: Ticket, zone: tzinfo, words: Words) -> WindowText:
    if ticket.window_start is None or ticket.window_end is None:
        return WindowText(words.unset_day, words.unset_when, words.unset_length, known=False)
    start = as_utc(ticket.window_start).astimezone(zone)
    end = as_utc(ticket.window_end).astimezone(zone)
    return WindowText(long_date(start.date(), words.lang), words.span(start, end),
                      words.duration(end - start))  # fmt: skip


def recipients_of(settings: MailSettings, announcement: Announcement) -> list[str]:
    """The configured recipients, then the OPD's contacts' e-mails (when `opd_contacts`),
    each once (case aside); none at all is a refusal naming the setting."""
    wanted = [*settings.recipients, *(announcement.contact_emails if settings.opd_contacts
                                      else ())]  # fmt: skip
    unique = list(_first_of_each(wanted))
    if not unique:
        raise ConfigurationError("[announce] recipients is empty and the OPD's contacts have "
                                 "no email in pelihara.toml: no one to send to")  # fmt: skip
    return unique


def _first_of_each(addresses: Sequence[str]) -> dict[str, None]:
    """ADDRESSES in order, an address given again (case aside) left out."""
    kept: dict[str, str] = {}
    for address in addresses:
        kept.setdefault(address.casefold(), address)
    return dict.fromkeys(kept.values())


def check_announceable(ticket: Ticket, step: Step) -> None:
    """Refuse (status 2) unless TICKET is open, STEP not done, and the window is set."""
    ref = ticket.reference
    if ticket.status != "open":
        raise TicketError(f"ticket {ref} is {ticket.status}: nothing to announce")
    done = next((row for row in ticket.steps if row.step == step.number), None)
    if done is not None:
        by = f"by {done.person_name}, {iso_text(done.done_at)}"
        raise TicketError(f"{step_label(step)} of ticket {ref} is already done ({by}): "
                          "announced already")  # fmt: skip
    if ticket.window_start is None:
        raise NoWindowError(
            f"ticket {ref} has no maintenance window (ticket new --window): an announcement "
            "that cannot say when the service stops is not sent; tell the users by other "
            f"means and record it: ticket advance {ref} --step {step.number} --announced-to "
            "WHOM --channel TEXT"
        )


@dataclass(frozen=True)
class Sending:
    """How to send: the `[announce]` SETTINGS, the LOGIN of credentials.toml (or None),
    and the LANG of the text."""

    settings: MailSettings
    login: Login | None
    lang: str = "id"


def announce_and_record(
    session: Session, ticket: Ticket, sop: Sop, by: RecordedBy, setting: Setting,
    sending: Sending, now: datetime,
) -> TicketRecord:  # fmt: skip
    """Send TICKET's announcement and record it at NOW, in SESSION's transaction (the
    caller commits). The writers' lock is held while the server takes the mail, so that
    what was sent is what is recorded; a failed send raises before anything is added."""
    log = locked(session, ticket, by.person.name)
    step = announcement_step(sop)
    check_announceable(ticket, step)
    text = compose(session, ticket, setting, sending.lang)
    to = recipients_of(sending.settings, text)
    message_id = make_msgid(domain=sending.settings.sender.rpartition("@")[2] or None)
    send(sending.settings, sending.login, message_of(sending.settings, to, text.subject,
                                                     text.body, message_id))  # fmt: skip
    data = {"to": to, "channel": CHANNEL, "source": "sent", "subject": text.subject,
            "message_id": message_id}  # fmt: skip
    return add_record(session, log, ticket, by, NewRecord(EVIDENCE, step.number, data,
                                                          text.sha256), now)  # fmt: skip


def sent_text(ticket: Ticket, record: TicketRecord, to: Sequence[str]) -> str:
    """`2026/0001: announcement sent to a@x, b@y (sha256 3f1a9c0e52d1); step 6 ...`."""
    return (f"{ticket.reference}: announcement sent to {', '.join(to)} (sha256 "
            f"{(record.sha256 or '')[:12]}); step {record.step} may now be advanced: "
            f"pelihara ticket advance {ticket.reference} --step {record.step}")  # fmt: skip
