"""The servers a command looks at, chosen through the ORM (`snapshot take`, `collect`): named
by hostname, IP address or domain, or all, or by OPD. `verify` chooses the same way without
the ORM (`verify_rows`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from pelihara.collector.expectations import Expected, expected_of
from pelihara.collector.selection_rules import Selection, refuse_other_machines, without_withdrawn
from pelihara.core.errors import ConfigurationError
from pelihara.inventory.models import Opd, Server
from pelihara.inventory.queries import find_server


def choose_servers(
    session: Session, hosts: tuple[str, ...], all_hosts: bool, opd: str | None,
    include_withdrawn: bool = False,
) -> Selection[Server]:  # fmt: skip
    """The servers named (hostname, IP or domain), or all, or those of OPDs matching OPD;
    withdrawn servers (taken out of the data center) only with INCLUDE_WITHDRAWN."""
    if sum((bool(hosts), all_hosts, bool(opd))) > 1:
        raise ConfigurationError("name the servers, or give --all, or --opd: one of them")
    options = (
        selectinload(Server.addresses),
        selectinload(Server.components),
        selectinload(Server.host_keys),
    )
    if hosts:  # a server named twice (by name and by address) is looked at once
        found = [find_server(session, host) for host in hosts]
        servers = list({server.id: server for server in found}.values())
    elif opd or all_hosts:
        stmt = select(Server).options(*options).order_by(Server.hostname)
        if opd:
            stmt = stmt.join(Opd).where(func.lower(Opd.name).contains(opd.lower(), autoescape=True))
        servers = list(session.scalars(stmt))
    else:
        raise ConfigurationError("name the servers, or give --all or --opd")
    if not servers:
        raise ConfigurationError("no server matches")
    return without_withdrawn(servers, include_withdrawn, lambda s: (s.hostname, s.status))


def select_servers(
    session: Session, hosts: tuple[str, ...], all_hosts: bool, opd: str | None
) -> list[Server]:
    """The servers named, or all, or those of OPDs matching OPD, withdrawn ones too."""
    return choose_servers(session, hosts, all_hosts, opd, include_withdrawn=True).servers


def select_hosts(
    session: Session, hosts: tuple[str, ...], all_hosts: bool, opd: str | None,
    include_withdrawn: bool, probes: tuple[str, ...],
) -> tuple[list[Expected], list[str]]:  # fmt: skip
    """The inventory's expectations for the servers chosen, and the withdrawn servers left
    out. `--probe local` looks at this machine: any other server is refused."""
    selection = choose_servers(session, hosts, all_hosts, opd, include_withdrawn)
    expected = [expected_of(server) for server in selection.servers]
    if "local" in probes:
        refuse_other_machines([e.target for e in expected])
    return expected, selection.withdrawn
