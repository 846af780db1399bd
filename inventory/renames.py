"""Renaming and merging OPDs, sites and racks.

A rename keeps the thing and changes its name (`Dinas Kesehatn` -> `Dinas Kesehatan`); a merge
moves everything of one into another that exists, and removes the first. Names are compared
as import compares them (`names.py`). Every change is audited: the OPD's, site's or rack's
own entry (`rename`/`merge`, before and after: the log's replay follows the name), and an
`update` of every server whose record (its `opd`, `site`, `rack`) changes. A merge that
would put two servers into one rack unit is refused; nothing is written.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from pelihara.core.errors import InputError, NotFoundError, Problem
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.locking import lock_writes
from pelihara.inventory.models import Opd, Rack, Server, Site
from pelihara.inventory.names import KINDS, Names, close, name_key, rack_label, tidy
from pelihara.inventory.records import Record, server_record

UNCHANGED = "nothing was changed"
LIMITS = {"opd": 200, "site": 100, "rack": 50}  # the columns' lengths (fields.py)


@dataclass(frozen=True)
class Renamed:
    """What a rename or merge did: KIND `opd`, `site` or `rack`; OLD and NEW as labelled in
    the audit log (a rack as `SITE/RACK`); how many servers' records changed."""

    kind: str
    old: str
    new: str
    servers: int
    merged: bool = False
    warnings: tuple[Problem, ...] = ()


def _refuse(label: str, kind: str, message: str) -> InputError:
    return InputError([Problem(label, 0, kind, message)], UNCHANGED)


def _missing(kind: str, name: str, known: Iterable[str]) -> NotFoundError:
    similar = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(s) for s in similar)}?)" if similar else ""
    return NotFoundError(f"no {KINDS[kind]} {name!r} in the inventory{hint}")


def _new_name(kind: str, label: str, text: str) -> str:
    name = tidy(text)
    if not name:
        raise _refuse(label, kind, "the new name is empty")
    if len(name) > LIMITS[kind]:
        raise _refuse(label, kind, f"the new name is longer than {LIMITS[kind]} characters")
    return name


def _warnings(
    kind: str, label: str, name: str, others: Iterable[str], strict: bool
) -> tuple[Problem, ...]:
    similar = [other for other in others if close(name, other)]
    if not similar:
        return ()
    problem = Problem(
        label,
        0,
        kind,
        f"the new name {name!r} is close to {similar[0]!r}: "
        f"the same {KINDS[kind]}? merge into it (pelihara inventory {kind} merge)",
    )
    if strict:
        raise InputError([problem], UNCHANGED)
    return (problem,)


def _free_name(
    kind: str, current: Opd | Site, new: str, existing: Mapping[str, Opd | Site], strict: bool
) -> tuple[str, tuple[Problem, ...]]:
    """NEW checked as CURRENT's new name among EXISTING (by name key): (the name, warnings).
    A name another one already has is refused: the two are merged instead."""
    name = _new_name(kind, current.name, new)
    other = existing.get(name_key(name))
    if other is not None and other is not current:
        raise _refuse(
            current.name,
            kind,
            f"{_ARTICLE[kind]} named {other.name!r} exists: merge into it "
            f"(pelihara inventory {kind} merge {current.name!r} {other.name!r})",
        )
    others = (o.name for o in existing.values() if o is not current)
    return name, _warnings(kind, current.name, name, others, strict)


_ARTICLE = {"opd": "an OPD", "site": "a site"}


class _Servers:
    """The servers whose records an edit changes, with their records before it."""

    def __init__(self, session: Session, where: ColumnElement[bool]) -> None:
        options = (
            selectinload(Server.addresses),
            selectinload(Server.opd),
            selectinload(Server.site),
            selectinload(Server.rack),
        )
        self.servers = list(session.scalars(select(Server).where(where).options(*options)))
        self.before: list[Record] = [server_record(server) for server in self.servers]

    def audit(self, audit: AuditLog) -> int:
        """An `update` entry for every server whose record changed; how many."""
        changed = 0
        for server, before in zip(self.servers, self.before, strict=True):
            after = server_record(server)
            if after != before:
                audit.append("update", "server", server.hostname, before, after)
                changed += 1
        return changed


# --- OPDs -------------------------------------------------------------------------------


def _opd(names: Names, name: str) -> Opd:
    opd = names.opds.get(name_key(name))
    if opd is None:
        raise _missing("opd", name, (o.name for o in names.opds.values()))
    return opd


def rename_opd(session: Session, actor: str, old: str, new: str, strict: bool = False) -> Renamed:
    """Rename the OPD OLD to NEW (NEW may differ from OLD only in case or spacing)."""
    lock_writes(session)
    names = Names.load(session)
    opd = _opd(names, old)
    name, warnings = _free_name("opd", opd, new, names.opds, strict)
    servers, audit, before = (
        _Servers(session, Server.opd_id == opd.id),
        AuditLog(session, actor),
        opd.name,
    )
    opd.name = name
    audit.append("rename", "opd", before, {"name": before}, {"name": name})
    return Renamed("opd", before, name, servers.audit(audit), warnings=warnings)


def merge_opd(session: Session, actor: str, old: str, into: str) -> Renamed:
    """Give the servers of OPD OLD to the OPD INTO, and remove OLD."""
    lock_writes(session)
    names = Names.load(session)
    source, target = _opd(names, old), _opd(names, into)
    if source is target:
        raise _refuse(source.name, "opd", "an OPD cannot be merged into itself")
    servers, audit = _Servers(session, Server.opd_id == source.id), AuditLog(session, actor)
    for server in servers.servers:
        server.opd = target
    changed = servers.audit(audit)
    audit.append("merge", "opd", source.name, {"name": source.name}, {"name": target.name})
    session.flush()
    session.delete(source)
    session.flush()
    return Renamed("opd", source.name, target.name, changed, merged=True)


# --- sites ------------------------------------------------------------------------------


def _site(names: Names, name: str) -> Site:
    site = names.sites.get(name_key(name))
    if site is None:
        raise _missing("site", name, (s.name for s in names.sites.values()))
    return site


def _racks_of(session: Session, site: Site) -> list[Rack]:
    return list(session.scalars(select(Rack).where(Rack.site_id == site.id).order_by(Rack.id)))


def rename_site(session: Session, actor: str, old: str, new: str, strict: bool = False) -> Renamed:
    """Rename the site OLD to NEW; its racks (`SITE/RACK`) follow."""
    lock_writes(session)
    names = Names.load(session)
    site = _site(names, old)
    name, warnings = _free_name("site", site, new, names.sites, strict)
    servers, audit, before = (
        _Servers(session, Server.site_id == site.id),
        AuditLog(session, actor),
        site.name,
    )
    site.name = name
    audit.append("rename", "site", before, {"name": before}, {"name": name})
    for rack in _racks_of(session, site):
        old_label, new_label = rack_label(before, rack.name), rack_label(name, rack.name)
        audit.append("rename", "rack", old_label, {"name": old_label}, {"name": new_label})
    return Renamed("site", before, name, servers.audit(audit), warnings=warnings)


def _clashes(label: str, moving: Iterable[Server], staying: Iterable[Server]) -> list[Problem]:
    """Rack units two servers would share once MOVING join STAYING in the rack LABEL."""
    held = {server.rack_unit: server.hostname for server in staying if server.rack_unit}
    return [
        Problem(
            label,
            0,
            "rack_unit",
            f"unit {server.rack_unit} would be held by both "
            f"{held[server.rack_unit]} and {server.hostname}",
        )
        for server in moving
        if server.rack_unit in held
    ]


def merge_site(session: Session, actor: str, old: str, into: str) -> Renamed:
    """Move the servers and racks of site OLD to the site INTO, and remove OLD. A rack of
    OLD whose name INTO has too is merged into that one (refused if units clash)."""
    lock_writes(session)
    names = Names.load(session)
    source, target = _site(names, old), _site(names, into)
    if source is target:
        raise _refuse(source.name, "site", "a site cannot be merged into itself")
    servers, audit = _Servers(session, Server.site_id == source.id), AuditLog(session, actor)
    moves: list[tuple[Rack, Rack | None]] = [
        (rack, names.racks.get((name_key(target.name), name_key(rack.name))))
        for rack in _racks_of(session, source)
    ]
    problems = []
    for rack, joined in moves:
        if joined is not None:
            moving = [s for s in servers.servers if s.rack_id == rack.id]
            staying = session.scalars(select(Server).where(Server.rack_id == joined.id))
            problems += _clashes(rack_label(target.name, joined.name), moving, staying)
    if problems:
        raise InputError(problems, UNCHANGED)
    for server in servers.servers:
        server.site = target
    for rack, joined in moves:
        _move_rack(session, audit, rack, joined, target, servers.servers)
    changed = servers.audit(audit)
    audit.append("merge", "site", source.name, {"name": source.name}, {"name": target.name})
    session.flush()
    session.delete(source)
    session.flush()
    return Renamed("site", source.name, target.name, changed, merged=True)


def _move_rack(
    session: Session,
    audit: AuditLog,
    rack: Rack,
    joined: Rack | None,
    site: Site,
    servers: list[Server],
) -> None:
    old_label = rack_label(rack.site.name, rack.name)
    if joined is None:
        audit.append(
            "rename",
            "rack",
            old_label,
            {"name": old_label},
            {"name": rack_label(site.name, rack.name)},
        )
        rack.site = site
        return
    new_label = rack_label(site.name, joined.name)
    for server in servers:
        if server.rack_id == rack.id:
            server.rack = joined
    audit.append("merge", "rack", old_label, {"name": old_label}, {"name": new_label})
    session.flush()
    session.delete(rack)


# --- racks ------------------------------------------------------------------------------


def _rack(names: Names, name: str, site: str | None) -> Rack:
    found = [
        rack
        for (site_key, rack_key), rack in names.racks.items()
        if rack_key == name_key(name) and (site is None or site_key == name_key(site))
    ]
    if not found:
        labels = [rack_label(r.site.name, r.name) for r in names.racks.values()]
        raise _missing("rack", name if site is None else rack_label(site, name), labels)
    if len(found) > 1:
        sites = ", ".join(sorted(repr(r.site.name) for r in found))
        raise _refuse(name, "rack", f"racks named {name!r} are in the sites {sites}: give --site")
    return found[0]


def rename_rack(
    session: Session,
    actor: str,
    old: str,
    new: str,
    site: str | None = None,
    strict: bool = False,
) -> Renamed:
    """Rename the rack OLD (of SITE, needed when several sites have one so named) to NEW."""
    lock_writes(session)
    names = Names.load(session)
    rack = _rack(names, old, site)
    label = rack_label(rack.site.name, rack.name)
    name = _new_name("rack", label, new)
    other = names.racks.get((name_key(rack.site.name), name_key(name)))
    if other is not None and other is not rack:
        raise _refuse(
            label,
            "rack",
            f"the site has a rack named {other.name!r}: merge into it "
            f"(pelihara inventory rack merge --site {rack.site.name!r} {rack.name!r} "
            f"{other.name!r})",
        )
    siblings = (
        r.name for k, r in names.racks.items() if k[0] == name_key(rack.site.name) and r is not rack
    )
    warnings = _warnings("rack", label, name, siblings, strict)
    servers, audit = _Servers(session, Server.rack_id == rack.id), AuditLog(session, actor)
    rack.name = name
    new_label = rack_label(rack.site.name, name)
    audit.append("rename", "rack", label, {"name": label}, {"name": new_label})
    return Renamed("rack", label, new_label, servers.audit(audit), warnings=warnings)


def merge_rack(
    session: Session, actor: str, old: str, into: str, site: str | None = None
) -> Renamed:
    """Move the servers of rack OLD into the rack INTO of the same site, and remove OLD."""
    lock_writes(session)
    names = Names.load(session)
    source = _rack(names, old, site)
    target = _rack(names, into, source.site.name)
    if source is target:
        raise _refuse(source.name, "rack", "a rack cannot be merged into itself")
    label, old_label = (
        rack_label(target.site.name, target.name),
        rack_label(source.site.name, source.name),
    )
    servers = _Servers(session, Server.rack_id == source.id)
    staying = session.scalars(select(Server).where(Server.rack_id == target.id))
    problems = _clashes(label, servers.servers, staying)
    if problems:
        raise InputError(problems, UNCHANGED)
    audit = AuditLog(session, actor)
    _move_rack(session, audit, source, target, target.site, servers.servers)
    session.flush()
    return Renamed("rack", old_label, label, servers.audit(audit), merged=True)
