"""The names of OPDs, sites and racks: compared without regard to case or spacing, created
when first named (audited), and a new name close to another one told.

`Dinas  kesehatan` names the OPD `Dinas Kesehatan` already in the inventory; a new name is
stored with its spaces tidied (`Dinas Kesehatan`). A new name that is close to another
(`Dinas Kesehatn`; difflib ratio at least CLOSE, and the same digits, so `R01` and `R02` are
two racks) is probably the same one mistyped: a warning, an error under `--strict`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from pelihara.core.errors import Problem
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.models import Opd, Rack, Site

CLOSE = 0.85
KINDS = {"opd": "OPD", "site": "site", "rack": "rack"}
_DIGITS = re.compile(r"\d+")
_T = TypeVar("_T", Opd, Site, Rack)


def tidy(name: str) -> str:
    """NAME with its spaces tidied: no spaces around it, one between words."""
    return " ".join(name.split())


def name_key(name: str) -> str:
    """What two names are compared by: `Dinas  KESEHATAN ` and `dinas kesehatan` are one."""
    return tidy(name).casefold()


def close(one: str, other: str) -> bool:
    """Whether two different names look like one mistyped (not when their numbers differ)."""
    a, b = name_key(one), name_key(other)
    if a == b or _DIGITS.findall(a) != _DIGITS.findall(b):
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= CLOSE


def rack_label(site: str, rack: str) -> str:
    """A rack as the audit log and messages name it: `DC Utama/R01`."""
    return f"{site}/{rack}"


@dataclass
class _Named:
    """Where a name new to the inventory was first written."""

    name: str
    file: str
    line: int
    column: str


@dataclass
class Names:
    """The inventory's OPDs, sites and racks by name key, read once from SESSION; names new
    to it are remembered (`new`) in the order they are first written."""

    session: Session
    opds: dict[str, Opd] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    racks: dict[tuple[str, str], Rack] = field(default_factory=dict)
    new: dict[tuple[str, ...], _Named] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Names:
        names = cls(session)
        for opd in session.scalars(select(Opd).order_by(Opd.id)):
            names.opds.setdefault(name_key(opd.name), opd)
        for site in session.scalars(select(Site).order_by(Site.id)):
            names.sites.setdefault(name_key(site.name), site)
        for rack in session.scalars(select(Rack).join(Rack.site).order_by(Rack.id)):
            names.racks.setdefault((name_key(rack.site.name), name_key(rack.name)), rack)
        return names

    def _spelling(self, key: tuple[str, ...], known: str | None, where: _Named) -> str:
        if known is not None:
            return known
        return self.new.setdefault(key, where).name

    def opd_name(self, name: str, where: tuple[str, int, str] = ("", 0, "opd")) -> str:
        """The OPD's name as the inventory has it, or as first written if it is new."""
        opd = self.opds.get(name_key(name))
        return self._spelling(
            ("opd", name_key(name)), opd.name if opd else None, _Named(tidy(name), *where)
        )

    def site_name(self, name: str, where: tuple[str, int, str] = ("", 0, "site")) -> str:
        site = self.sites.get(name_key(name))
        return self._spelling(
            ("site", name_key(name)), site.name if site else None, _Named(tidy(name), *where)
        )

    def rack_name(self, site: str, name: str, where: tuple[str, int, str] = ("", 0, "rack")) -> str:
        rack = self.racks.get((name_key(site), name_key(name)))
        return self._spelling(
            ("rack", name_key(site), name_key(name)),
            rack.name if rack else None,
            _Named(tidy(name), *where),
        )

    def rack(self, site: str, name: str) -> Rack | None:
        """The rack of that site and name in the inventory (None: new, or not there)."""
        return self.racks.get((name_key(site), name_key(name)))

    def created(self, kind: str) -> list[str]:
        """The new names of KIND ("opd", "site", "rack": `SITE/RACK`), in written order."""
        return [self._label(key, named) for key, named in self.new.items() if key[0] == kind]

    def _label(self, key: tuple[str, ...], named: _Named) -> str:
        if key[0] != "rack":
            return named.name
        return rack_label(self._site_spelling(key[1]), named.name)

    def _site_spelling(self, site_key: str) -> str:
        site = self.sites.get(site_key)
        return site.name if site else self.new[("site", site_key)].name

    def _others(self, key: tuple[str, ...]) -> Iterator[str]:
        """The names a new name of KEY's kind (and site, for a rack) may be confused with:
        those in the inventory and those new before it."""
        kind = key[0]
        if kind == "rack":
            yield from (r.name for k, r in self.racks.items() if k[0] == key[1])
        else:
            yield from (x.name for x in (self.opds if kind == "opd" else self.sites).values())
        for other, named in self.new.items():
            if other == key:
                return
            if other[:-1] == key[:-1]:
                yield named.name

    def warnings(self) -> list[Problem]:
        """A problem for every new name close to another one, where it was first written."""
        found = []
        for key, named in self.new.items():
            similar = [other for other in self._others(key) if close(named.name, other)]
            if similar:
                kind, other = KINDS[key[0]], similar[0]
                site = f" --site {self._site_spelling(key[1])!r}" if key[0] == "rack" else ""
                found.append(
                    Problem(
                        named.file,
                        named.line,
                        named.column,
                        f"new {kind} {named.name!r} is close to {other!r}: the same {kind} "
                        f"mistyped? write it as {other!r}, or merge it afterwards (pelihara "
                        f"inventory {key[0]} merge {named.name!r} {other!r}{site})",
                    )
                )
        return found

    # --- creating -----------------------------------------------------------------------

    def _create(self, audit: AuditLog, obj: _T, entity: str, label: str) -> _T:
        self.session.add(obj)
        audit.append("create", entity, label, None, {"name": label})
        return obj

    def opd(self, audit: AuditLog, name: str) -> Opd:
        """The OPD of that name, created (and audited) when it is new."""
        key = name_key(name)
        if key not in self.opds:
            self.opds[key] = self._create(audit, Opd(name=tidy(name)), "opd", tidy(name))
        return self.opds[key]

    def site(self, audit: AuditLog, name: str | None) -> Site | None:
        if name is None:
            return None
        key = name_key(name)
        if key not in self.sites:
            self.sites[key] = self._create(audit, Site(name=tidy(name)), "site", tidy(name))
        return self.sites[key]

    def rack_of(self, audit: AuditLog, site: Site | None, name: str | None) -> Rack | None:
        if site is None or name is None:
            return None
        key = (name_key(site.name), name_key(name))
        if key not in self.racks:
            rack = Rack(site=site, name=tidy(name))
            self.racks[key] = self._create(audit, rack, "rack", rack_label(site.name, tidy(name)))
        return self.racks[key]


def problems_or_warnings(
    warnings: Iterable[Problem], strict: bool
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings): under STRICT every warning is a problem."""
    found = list(warnings)
    return (found, []) if strict else ([], found)
