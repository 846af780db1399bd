"""The people of `pelihara.toml`: who holds which role of the SOP, and how pelihara knows them.

Each `[[people]]` table is one person: a name, a NIP, the roles, and how they are identified
(`os_user`, the operating-system user who runs pelihara; `db_role`, their PostgreSQL login
role on a shared database). The roles are the SOP's four actors, a closed set:

>>> sorted(ROLES)
['kepala_bidang', 'kepala_dinas', 'opd', 'tim_data_center']

A malformed entry is refused whole, every problem named by file, person and field:
`pelihara.toml: [[people]] #2 (Budi Santoso): nip: 17 digits, a NIP has 18`
(several problems: one line, `; ` between them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pelihara.core.config import Config
from pelihara.core.errors import ConfigurationError
from pelihara.maintenance.roles import ROLES

TABLE = "people"


# An OPD's contact is often outside the civil service's NIP (an honorary or contract worker).
NIP_OPTIONAL = frozenset({"opd"})

_OS_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")  # useradd's NAME_REGEX, 32 at most
_DB_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")  # an unquoted PostgreSQL identifier
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{4,}$")


def normal_nip(text: str) -> str:
    """TEXT without the spaces NIPs are often written with: `19750101 200003 1 001`."""
    return "".join(text.split())


def nip_problem(nip: str) -> str | None:
    """Why NIP is no NIP (None when it is one): 18 digits, the birth date (YYYYMMDD), the
    month of appointment (YYYYMM), the sex (1 or 2) and a number (3 digits).

    >>> nip_problem("197501012000031001") is None
    True
    >>> nip_problem("197513012000031001")
    'its first 8 digits are no birth date (YYYYMMDD): 19751301'
    """
    if not nip.isdigit() or not nip.isascii():
        return "a NIP has only digits (18)"
    if len(nip) != 18:
        return f"{len(nip)} digits, a NIP has 18"
    try:
        date(int(nip[:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        return f"its first 8 digits are no birth date (YYYYMMDD): {nip[:8]}"
    if not 1 <= int(nip[12:14]) <= 12:
        return f"digits 9-14 are no month of appointment (YYYYMM): {nip[8:14]}"
    if nip[14] not in "12":
        return f"digit 15 is the sex, 1 or 2, not {nip[14]}"
    return None


def _matching(pattern: re.Pattern[str], value: str | None, what: str) -> str | None:
    if value is not None and not pattern.match(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


class Person(BaseModel):
    """One `[[people]]` table of pelihara.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1)
    nip: str | None = None
    roles: tuple[str, ...] = Field(min_length=1)
    opd: str | None = None  # an OPD contact's agency, as the inventory names it
    position: str | None = None  # jabatan, under the signature
    rank: str | None = None  # pangkat/golongan: "Pembina Tk. I (IV/b)"
    os_user: str | None = None
    db_role: str | None = None
    email: str | None = None
    phone: str | None = None

    @field_validator("nip")
    @classmethod
    def _nip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        nip = normal_nip(value)
        problem = nip_problem(nip)
        if problem:
            raise ValueError(problem)
        return nip

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [role for role in value if role not in ROLES]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r} (the roles: {', '.join(ROLES)})")
        if len(set(value)) != len(value):
            raise ValueError("a role is named twice")
        return value

    @field_validator("os_user")
    @classmethod
    def _os_user(cls, value: str | None) -> str | None:
        return _matching(_OS_USER, value, "an OS user name")

    @field_validator("db_role")
    @classmethod
    def _db_role(cls, value: str | None) -> str | None:
        return _matching(_DB_ROLE, value, "a PostgreSQL role name")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _matching(_EMAIL, value, "an e-mail address")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _matching(_PHONE, value, "a phone number (digits, spaces, + - ( ) .)")

    def holds(self, role: str) -> bool:
        return role in self.roles

    @property
    def role_names(self) -> str:
        """The roles as the SOP names them: `Kepala Bidang, Tim Data Center`."""
        return ", ".join(ROLES[role].name for role in self.roles)

    def identified_by(self) -> str:
        """How pelihara knows this person: `os_user budi, db_role budi` ("" when it cannot)."""
        ways = [("os_user", self.os_user), ("db_role", self.db_role)]
        return ", ".join(f"{kind} {value}" for kind, value in ways if value)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()


def _consistency(person: Person) -> list[tuple[str, str]]:
    """(field, problem) of what one field alone cannot say: the OPD with its role, the NIP."""
    found = []
    if person.holds("opd") and not person.opd:
        found.append(("opd", "an OPD contact names the OPD (as the inventory names it)"))
    if person.opd and not person.holds("opd"):
        found.append(("opd", "only a person with the role opd belongs to an OPD"))
    if person.nip is None and not set(person.roles) <= NIP_OPTIONAL:
        roles = ", ".join(r for r in person.roles if r not in NIP_OPTIONAL)
        found.append(("nip", f"missing: a NIP is required for the role {roles}"))
    return found


@dataclass(frozen=True)
class Problem:
    """One thing wrong in pelihara.toml's people, named by person (1-based) and field."""

    index: int
    name: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"[[{TABLE}]] #{self.index} ({self.name}): {self.field}: {self.message}"


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown field (the fields: {', '.join(Person.model_fields)})"
    if kind == "missing":
        return "missing (required)"
    text = str(error["msg"])
    return text.removeprefix("Value error, ")


def _field(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "?"


def _one(index: int, entry: object) -> tuple[Person | None, list[Problem]]:
    """ENTRY, the INDEX-th `[[people]]` table, as a Person, or the problems it has."""
    raw_name = entry.get("name") if isinstance(entry, Mapping) else None
    name = raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else "no name"
    if not isinstance(entry, Mapping):
        return None, [Problem(index, name, "*", "must be a table ([[people]]), not a value")]
    try:
        person = Person.model_validate(dict(entry))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return None, [Problem(index, name, _field(e), _message(e)) for e in errors]
    problems = [Problem(index, name, f, message) for f, message in _consistency(person)]
    return (None if problems else person), problems


def _unique_keys(person: Person) -> dict[str, str | None]:
    """What no two people share: who would a name, NIP, OS user or role given twice be?"""
    return {"name": person.name.casefold(), "nip": person.nip, "os_user": person.os_user,
            "db_role": person.db_role}  # fmt: skip


def _duplicates(people: Iterable[Person]) -> list[Problem]:
    """A name, NIP, OS user or database role given to two people: who would that be?"""
    found: list[Problem] = []
    seen: dict[tuple[str, str], tuple[int, Person]] = {}
    for index, person in enumerate(people, start=1):
        for field, value in _unique_keys(person).items():
            if value is None:
                continue
            if (field, value) in seen:
                first, other = seen[field, value]
                message = f"the same as #{first} ({other.name}): one person each"
                found.append(Problem(index, person.name, field, message))
            else:
                seen[field, value] = (index, person)
    return found


@dataclass(frozen=True)
class People:
    """The configured people, in the file's order; `path` is the file they came from."""

    path: Path
    people: tuple[Person, ...] = ()

    def with_role(self, role: str) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.holds(role))

    def by_os_user(self, name: str) -> Person | None:
        return next((p for p in self.people if p.os_user == name), None)

    def by_db_role(self, name: str) -> Person | None:
        return next((p for p in self.people if p.db_role == name), None)

    def find(self, name_or_nip: str) -> Person | None:
        """The person named NAME_OR_NIP (case and spacing aside), or with that NIP."""
        wanted = " ".join(name_or_nip.split()).casefold()
        nip = normal_nip(name_or_nip)
        for person in self.people:
            if " ".join(person.name.split()).casefold() == wanted or person.nip == nip:
                return person
        return None

    def contacts_of(self, opd: str) -> tuple[Person, ...]:
        """The contacts of the OPD named OPD (as the inventory names it, case aside)."""
        wanted = opd.strip().casefold()
        return tuple(p for p in self.with_role("opd") if (p.opd or "").casefold() == wanted)


def load_people(config: Config) -> People:
    """The `[[people]]` of CONFIG; any malformed entry refuses them all, naming each problem."""
    entries = config.tables.get(TABLE, [])
    if not isinstance(entries, list):
        raise ConfigurationError(f"{config.path}: {TABLE} must be [[{TABLE}]] tables, one a person")
    people: list[Person] = []
    problems: list[Problem] = []
    for index, entry in enumerate(entries, start=1):
        person, found = _one(index, entry)
        problems += found
        if person is not None:
            people.append(person)
    if not problems:
        problems = _duplicates(people)
    if problems:
        raise ConfigurationError(f"{config.path}: {'; '.join(map(str, problems))}")
    return People(config.path, tuple(people))
