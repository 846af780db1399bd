"""Who acts on a ticket is established, not claimed.

The person is the one pelihara.toml maps to what the system vouches for: the operating-system
user the command runs as (its effective uid, never $USER or $LOGNAME, which anyone can set),
and on PostgreSQL the login role of the session (`session_user`, which `SET ROLE` cannot
change). A free `--actor` is refused for ticket steps; an official who signed on paper is
recorded with `--on-behalf-of NAME` and the scan, keeping both names:

>>> Recorded("Budi Santoso", "Dr. Andi Wijaya").text()
'dicatat oleh Budi Santoso atas nama Dr. Andi Wijaya'
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.orm import Session

from pelihara.core.errors import PeliharaError
from pelihara.maintenance.people import People, Person
from pelihara.maintenance.roles import ROLES

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


class NotAllowedError(PeliharaError):
    """The one running the command may not do this step: not configured, or not the role."""


@dataclass(frozen=True)
class Identity:
    """What the system vouches for: the OS user, and on PostgreSQL the session's login role."""

    os_user: str
    db_role: str | None = None  # None: not on PostgreSQL

    def describe(self) -> str:
        """`OS user budi` or `database role budi, OS user budi`."""
        role = f"database role {self.db_role}, " if self.db_role is not None else ""
        return f"{role}OS user {self.os_user}"


def running_os_user() -> str:
    """The name of the effective uid (`uid:N` when it has no passwd entry: no one's name)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def session_db_role(db: Session | Connection) -> str | None:
    """The login role of DB's session on PostgreSQL (`session_user`); None on SQLite."""
    dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
    if dialect.name != "postgresql":
        return None
    return str(db.execute(text("SELECT session_user")).scalar_one())


def identity(db: Session | Connection | None = None) -> Identity:
    """Who runs this command: the OS user, and the database role of DB when on PostgreSQL."""
    return Identity(running_os_user(), session_db_role(db) if db is not None else None)


def _not_configured(people: People, who: Identity) -> NotAllowedError:
    key = "db_role" if who.db_role is not None else "os_user"
    return NotAllowedError(
        f"you ({who.describe()}) are not in pelihara.toml's people ({people.path}): someone "
        f"not in the configuration cannot advance a ticket (add a [[people]] with {key} = "
        f'"{who.db_role if who.db_role is not None else who.os_user}")'
    )


def establish(people: People, who: Identity) -> Person:
    """The configured person WHO is, or a refusal that says why.

    On PostgreSQL the login role decides (the server authenticated it); if that person also
    names an os_user, it must be the one running the command. Elsewhere the OS user decides.
    """
    if who.db_role is None:
        person = people.by_os_user(who.os_user)
        if person is None:
            raise _not_configured(people, who)
        return person
    person = people.by_db_role(who.db_role)
    if person is None:
        raise _not_configured(people, who)
    if person.os_user is not None and person.os_user != who.os_user:
        raise NotAllowedError(
            f"you ({who.describe()}) connect as {person.name}'s database role, but "
            f"pelihara.toml ({people.path}) gives {person.name} the OS user {person.os_user}: "
            "someone else's login cannot advance a ticket"
        )
    return person


def _step(step: int | str) -> str:
    return f"step {step}" if isinstance(step, int) else step


def require_role(person: Person, role: str, step: int | str) -> None:
    """Refuse unless PERSON holds ROLE (an id of `ROLES`) for STEP (`11` or "step 11 ...")."""
    if person.holds(role):
        return
    held = ", ".join(person.roles)
    raise NotAllowedError(
        f"{_step(step)} is done by the {ROLES[role].name} (role {role}); {person.name} holds "
        f"{held}, not {role}"
    )


def refuse_free_actor(actor: str | None, step: int | str) -> None:
    """Refuse a free-text actor (`--actor`, PELIHARA_ACTOR) for STEP: a ticket's steps are
    done by the person the configuration maps to who runs the command."""
    if not actor:
        return
    raise NotAllowedError(
        f"--actor (or PELIHARA_ACTOR) {actor!r} is not taken for {_step(step)} of a ticket: "
        "who acts is the person pelihara.toml maps to your OS user (or database role); for "
        "an official who signed on paper give --on-behalf-of NAME --attach SCAN"
    )


@dataclass(frozen=True)
class Recorded:
    """A step recorded by one person for another who did it on paper: both names kept."""

    recorded_by: str
    on_behalf_of: str
    recorded_by_nip: str | None = None
    on_behalf_of_nip: str | None = None

    def text(self, language: str = "id") -> str:
        """`dicatat oleh X atas nama Y` (language "en": `recorded by X on behalf of Y`)."""
        if language == "en":
            return f"recorded by {self.recorded_by} on behalf of {self.on_behalf_of}"
        return f"dicatat oleh {self.recorded_by} atas nama {self.on_behalf_of}"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "recorded_by": self.recorded_by,
            "recorded_by_nip": self.recorded_by_nip,
            "on_behalf_of": self.on_behalf_of,
            "on_behalf_of_nip": self.on_behalf_of_nip,
        }


def recorded_text(record: Recorded, language: str = "id") -> str:
    """RECORD as the report prints it: `dicatat oleh X atas nama Y`."""
    return record.text(language)


def on_behalf_of(
    people: People, recorder: Person, name: str, role: str, step: int | str,
    scans: Sequence[object],
) -> Recorded:  # fmt: skip
    """RECORDER records STEP for the person NAME (a name or a NIP) who holds ROLE and signed
    on paper; SCANS (the signed paper's scans, `--attach`) must not be empty."""
    acted_for = people.find(name)
    holders = ", ".join(p.name for p in people.with_role(role)) or "nobody"
    if acted_for is None:
        raise NotAllowedError(
            f"--on-behalf-of {name!r}: no such person in pelihara.toml ({people.path}); the "
            f"{ROLES[role].name} (role {role}) there: {holders}"
        )
    require_role(acted_for, role, step)
    if acted_for == recorder:
        raise NotAllowedError(
            f"--on-behalf-of {name!r} names you: record {_step(step)} yourself, without it"
        )
    if not scans:
        raise NotAllowedError(
            f"--on-behalf-of {acted_for.name} needs the signed paper: --attach SCAN"
        )
    return Recorded(recorder.name, acted_for.name, recorder.nip, acted_for.nip)
