"""The data of the SOP's forms: the *Formulir Kelengkapan* (step 5) and the *Formulir
Penarikan Perangkat* (step 8), read from a ticket. Views: they record nothing.

Plain dicts, every time an ISO text in UTC; the template prints them (`forms.py` of this
package). Shared keys: `kind`, `lang`, `organisation` (the letterhead, or None: blank lines
for it), `number` (`FK/2026/0001`, `FP/2026/0001`), `ticket`, `request` (OPD, letter,
summary), `signatures` (`{block, role, name, nip, position}`; name None: a line to write
on), `generated_at` (the document's date: the moment of the records it prints, or NOW when
it prints today's inventory), `blank` (False).

The completeness form is printed AS CONFIRMED when the ticket holds a `completeness_form`
record (its stored form, checked against its SHA-256, who confirmed it and when): what the
OPD signed, not today's inventory (`source: "confirmed"`); else from the inventory now
(`source: "inventory"`). The withdrawal form lists the `withdrawal` records, or says that
none was withdrawn (and who decided it, from a `no_withdrawal` record).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pelihara.core.canonical import sha256_hex
from pelihara.core.errors import DatabaseError
from pelihara.core.times import iso_text
from pelihara.maintenance.documents.render import letterhead
from pelihara.maintenance.forms import completeness_form
from pelihara.maintenance.models import Ticket, TicketRecord
from pelihara.maintenance.organisation import Organisation
from pelihara.maintenance.people import People

CONFIRMED = "completeness_form"
NUMBER_PREFIXES = {"completeness": "FK/", "withdrawal": "FP/"}


def signature(block: str, role: str, name: str | None = None,
              nip: str | None = None, people: People | None = None) -> dict[str, Any]:  # fmt: skip
    """One signature block; the position (jabatan) from PEOPLE when the person is there."""
    key = nip or name
    person = people.find(key) if people is not None and key else None
    return {"block": block, "role": role, "name": name, "nip": nip,
            "position": person.position if person else None}  # fmt: skip


def completeness_content(
    session: Session, ticket: Ticket, people: People, organisation: Organisation | None,
    lang: str, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The completeness form of TICKET: as confirmed, or from the inventory at NOW."""
    record = latest(ticket.records, CONFIRMED)
    if record is None:
        form, confirmed, at = completeness_form(session, ticket), None, now
    else:
        form, confirmed = _confirmed_form(ticket, record), _confirmation(record)
        at = record.recorded_at
    return {
        **_common("completeness", ticket, organisation, lang),
        "source": "inventory" if record is None else "confirmed",
        "form": form, "form_sha256": sha256_hex(form), "confirmed": confirmed,
        "signatures": [_data_center(record, people),
                       _opd_signatory(ticket, people, record)],
        "generated_at": iso_text(at),
    }  # fmt: skip


def withdrawal_content(
    ticket: Ticket, people: People, organisation: Organisation | None, lang: str,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The withdrawal form of TICKET: each withdrawn component and its custody."""
    taken = [r for r in ticket.records if r.kind == "withdrawal"]
    none = latest(ticket.records, "no_withdrawal")
    takers = _unique(json.loads(r.data).get("taken_by") or r.person_name for r in taken)
    decided = taken[-1] if taken else none
    moments = [r.recorded_at for r in taken] + ([none.recorded_at] if none else [])
    return {
        **_common("withdrawal", ticket, organisation, lang),
        "withdrawn": [withdrawn_entry(r) for r in taken],
        "decision": _decision(taken, none),
        "signatures": [*(signature("taker_block", "taker", name) for name in takers),
                       _data_center(decided, people),
                       _opd_signatory(ticket, people, latest(ticket.records, CONFIRMED))],
        "generated_at": iso_text(max(moments, default=now)),
    }  # fmt: skip


def withdrawn_entry(record: TicketRecord) -> dict[str, Any]:
    """One withdrawn component: what it is, where from, why, who took it, who recorded it."""
    data = json.loads(record.data)
    return {"serial": record.serial, "kind": data.get("kind"), "model": data.get("model"),
            "server": data.get("server"), "slot": data.get("slot"),
            "reason": data.get("reason"), "taken_by": data.get("taken_by"),
            "at": iso_text(record.recorded_at), "by": record.person_name,
            "on_behalf_of": record.on_behalf_of_name}  # fmt: skip


def latest(records: Iterable[TicketRecord], kind: str) -> TicketRecord | None:
    """The last record of KIND (records come in id order), or None."""
    return next((r for r in reversed(list(records)) if r.kind == kind), None)


def _common(kind: str, ticket: Ticket, org: Organisation | None, lang: str) -> dict[str, Any]:
    return {"kind": kind, "lang": lang, "blank": False, "organisation": letterhead(org),
            "number": f"{NUMBER_PREFIXES[kind]}{ticket.reference}", "ticket": ticket.reference,
            "request": {"opd": ticket.opd_name, "letter_number": ticket.letter_number,
                        "letter_date": ticket.letter_date.isoformat(),
                        "summary": ticket.summary}}  # fmt: skip


def _confirmed_form(ticket: Ticket, record: TicketRecord) -> dict[str, Any]:
    """The form the OPD confirmed, as recorded; refused (status 6) if it no longer matches
    the SHA-256 recorded with it (the record was changed behind pelihara's back)."""
    form: dict[str, Any] = json.loads(record.data)["form"]
    if sha256_hex(form) != record.sha256:
        raise DatabaseError(
            f"ticket {ticket.reference}: the completeness form confirmed in record {record.id} "
            f"no longer matches its SHA-256 ({record.sha256}): the database was changed "
            "outside pelihara; check it with `pelihara audit verify --state`"
        )
    return form


def _confirmation(record: TicketRecord) -> dict[str, Any]:
    data = json.loads(record.data)
    return {"by": data.get("confirmed_by"), "nip": data.get("confirmed_by_nip"),
            "at": iso_text(record.recorded_at), "recorded_by": record.person_name,
            "sha256": record.sha256}  # fmt: skip


def _decision(taken: list[TicketRecord], none: TicketRecord | None) -> dict[str, Any]:
    """`withdrawn` (records), `none` (who decided, when) or `undecided` (step 8 not yet)."""
    if taken:
        return {"state": "withdrawn", "by": None, "at": None}
    if none is not None:
        by = none.on_behalf_of_name or none.person_name
        return {"state": "none", "by": by, "at": iso_text(none.recorded_at)}
    return {"state": "undecided", "by": None, "at": None}


def _data_center(record: TicketRecord | None, people: People) -> dict[str, Any]:
    """The Tim Data Center member who recorded RECORD (the official when recorded on their
    behalf), else the first one configured, else a line to write on."""
    if record is not None:
        name = record.on_behalf_of_name or record.person_name
        nip = record.on_behalf_of_nip if record.on_behalf_of_name else record.person_nip
        return signature("dc_block", "tim_data_center", name, nip, people)
    members = people.with_role("tim_data_center")
    if members:
        return signature("dc_block", "tim_data_center", members[0].name, members[0].nip, people)
    return signature("dc_block", "tim_data_center")


def _opd_signatory(ticket: Ticket, people: People, record: TicketRecord | None) -> dict[str, Any]:
    """Who signs for the OPD: who confirmed the completeness form, else the OPD's only
    contact in pelihara.toml; with several (or none), a line to write the name on."""
    if record is not None:
        data = json.loads(record.data)
        return signature("opd_block", "opd", data.get("confirmed_by"),
                         data.get("confirmed_by_nip"), people)  # fmt: skip
    contacts = people.contacts_of(ticket.opd_name)
    if len(contacts) == 1:
        return signature("opd_block", "opd", contacts[0].name, contacts[0].nip, people)
    return signature("opd_block", "opd")


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
