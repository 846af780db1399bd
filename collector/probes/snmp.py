"""The SNMP probe (asyncio): the system scalars and the tables in as few GETBULKs as it can.

v2c (community) and v3 (USM). v3 uses SHA-1/SHA-2 and AES; MD5, DES and authNoPriv only
when the credential says `allow_insecure`. Nothing that answers is an error of the probe:
a timeout is UNREACHABLE, a v3 authentication failure REFUSED, a missing table `[]`.
No community or key ever appears in a result or a log line.

Data (see `collector.probes.snmp_tables` for the rows):
    {"address": "10.0.0.11", "sysName": "web1", "sysDescr": "Linux web1 …",
     "sysObjectID": "1.3.6.1.4.1.8072.3.2.10", "sysLocation": "DC-1 rack 4",
     "uptime_seconds": 1234.56, "memory_total_bytes": 8232370176,
     "storage": [...], "processors": [...], "interfaces": [...], "addresses": [...],
     "entities": [...]}
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from pysnmp.error import PySnmpError
from pysnmp.proto import errind, rfc1905

from pelihara.collector.credentials import Credentials, SnmpCredentials
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.snmp_auth import is_insecure
from pelihara.collector.probes.snmp_requests import Requester, Requesters, Response
from pelihara.collector.probes.snmp_tables import (
    DEFAULT_TABLES,
    SCALARS,
    TABLES,
    TableWalk,
    VarBind,
    parse_system,
)
from pelihara.core.errors import ConfigurationError

LOG = logging.getLogger("pelihara.snmp")
DEFAULT_PORT = 161
# GETBULK size. A request costs ~0.3 ms of CPU, a varbind ~0.005 ms to read (see
# collector.probes.snmp_requests), and the repetitions past a column's end are wasted.
# So the walk starts with a few rows of every column of every table in ONE request, then
# doubles the rows for the columns still going; once a table's first column has ended, its
# other columns' remaining rows are asked exactly (`TableWalk.take_cells`: one non-repeater a
# row, no repetition wasted past a short column). At most ~40 varbinds an answer keeps it in
# one Ethernet frame for typical values (no IP fragments for firewalls to drop).
VARBINDS_PER_REQUEST = 40
FIRST_REPETITIONS = 4
MAX_REPETITIONS = 25
TOO_BIG = 1  # errorStatus tooBig(1)

# The error indications (pysnmp's classes, as snmp_dispatch reports them) of an agent that
# answered but would not let us in.
REFUSALS = (
    (errind.WrongDigest, "wrong auth key or auth protocol"),
    (errind.UnknownUserName, "unknown user"),
    (errind.UnknownSecurityName, "unknown user"),
    (errind.DecryptionError, "wrong privacy key or privacy protocol"),
    (errind.AuthenticationFailure, "authentication failed"),
    (errind.AuthenticationError, "authentication failed"),
    (errind.UnsupportedSecurityLevel, "the user is not allowed this security level"),
    (errind.UnsupportedAuthProtocol, "auth protocol not supported"),
    (errind.UnsupportedPrivProtocol, "privacy protocol not supported"),
    (errind.UnknownCommunityName, "wrong community"),
)


@dataclass(frozen=True)
class SnmpOptions:
    credentials: Credentials
    timeout: float = 2.0  # seconds per request attempt
    retries: int = 1
    max_in_flight: int = 64  # requests in flight on the probe's one UDP socket
    # Which tables to walk (by key: storage, processors, interfaces, addresses, entities);
    # None walks all but "traffic" (the counters health collection reads). verify asks only
    # what it checks (fewer values, fewer requests).
    tables: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.tables or ()) - {table.key for table in TABLES})
        if unknown:  # a table asked for would silently not be walked: a bug of the caller
            raise ValueError(f"no SNMP table {', '.join(unknown)}")


class SnmpFailure(Exception):
    """A per-host failure, turned into a `ProbeResult` (never raised out of the probe)."""

    def __init__(self, status: ProbeStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Session:
    """What every request to one host needs."""

    requester: Requester
    where: str  # "ADDR:PORT" for messages
    version: str


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _no_answer_hint(version: str) -> str:
    # net-snmp drops a v3 request it cannot decrypt without a report: a wrong privacy key
    # looks exactly like no agent at all.
    if version == "3":
        return "wrong privacy key or protocol, or no agent"
    return "wrong community, or no agent"


def _error_indication_name(error: Any) -> str:
    name = type(error).__name__
    return name[:1].lower() + name[1:]


def _failure(session: _Session, error: Any, first: bool) -> SnmpFailure:
    """An errorIndication from pysnmp as the probe's status and a message without secrets."""
    where = session.where
    if isinstance(error, errind.RequestTimedOut) and first:
        hint = _no_answer_hint(session.version)
        return SnmpFailure(ProbeStatus.UNREACHABLE, f"no SNMP answer from {where} ({hint})")
    if isinstance(error, errind.RequestTimedOut):
        return SnmpFailure(ProbeStatus.ERROR, f"{where} stopped answering during a table walk")
    for kind, cause in REFUSALS:
        if isinstance(error, kind):
            name = _error_indication_name(error)
            message = f"SNMP v{session.version} refused by {where}: {cause} ({name})"
            return SnmpFailure(ProbeStatus.REFUSED, message)
    return SnmpFailure(ProbeStatus.ERROR, f"SNMP error with {where}: {error}")


def _status_name(status: Any) -> str:
    try:
        return str(rfc1905.errorStatus.clone(int(status)).prettyPrint())
    except (PySnmpError, ValueError, TypeError):
        return str(status)


def _check(session: _Session, response: tuple[Any, Any, Any, Any], oid: str, first: bool) -> None:
    error, status, _, _ = response
    if error:
        raise _failure(session, error, first)
    if status and int(status):
        message = f"{session.where} answered {_status_name(status)} for {oid}"
        raise SnmpFailure(ProbeStatus.ERROR, message)


class SnmpProbe:
    name = "snmp"

    def __init__(self, options: SnmpOptions) -> None:
        self.options = options
        self._requesters = Requesters()
        # Bounds requests, not hosts: a burst of hundreds overflows the client's UDP socket
        # and replies are lost (measured on loopback; 32-100 in flight was as fast).
        self._in_flight = asyncio.Semaphore(options.max_in_flight)
        self._warned: set[str] = set()

    async def probe(self, target: Target) -> ProbeResult:
        address = target.addresses[0]
        port = target.snmp_port or DEFAULT_PORT
        try:
            session = await self._session(target, address, port)
            data = await self._read(session)
        except SnmpFailure as failure:
            return self._result(target, failure.status, error=str(failure))
        except ConfigurationError as exc:
            return self._result(target, ProbeStatus.ERROR, error=str(exc))
        except PySnmpError as exc:
            # pysnmp's own messages: an unresolvable address, a socket error. Never keys:
            # its auth objects print <COMMUNITY>/<AUTHKEY> in place of the secrets.
            message = f"SNMP error with {_where(address, port)}: {exc}"
            return self._result(target, ProbeStatus.ERROR, error=message)
        return self._result(target, ProbeStatus.OK, data={"address": address, **data})

    def _result(
        self,
        target: Target,
        status: ProbeStatus,
        data: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> ProbeResult:
        return ProbeResult(target.hostname, self.name, status, data=data or {}, error=error)

    def _credentials(self, target: Target) -> SnmpCredentials:
        creds = self.options.credentials.snmp_for(target.snmp_credential)
        if target.snmp_version and target.snmp_version != creds.version:
            raise ConfigurationError(
                f"the inventory says SNMP v{target.snmp_version} but credential "
                f"{creds.name!r} is v{creds.version}"
            )
        if is_insecure(creds) and creds.name not in self._warned:
            self._warned.add(creds.name)
            LOG.warning("SNMP credential %r: MD5, DES or no privacy (allow_insecure)", creds.name)
        return creds

    async def _session(self, target: Target, address: str, port: int) -> _Session:
        creds = self._credentials(target)
        options = self.options
        requester = await self._requesters.open(
            creds, address, port, options.timeout, options.retries
        )
        return _Session(requester, _where(address, port), creds.version)

    async def _read(self, session: _Session) -> dict[str, Any]:
        """The scalars and every table, in as few GETBULKs as the agent's answers allow."""
        wanted = self.options.tables
        wanted = DEFAULT_TABLES if wanted is None else wanted
        tables = [table for table in TABLES if table.key in wanted]
        columns = tuple(dict.fromkeys(column for table in tables for column in table.columns))
        scalars, varbinds = await self._walk(session, tuple(SCALARS.values()), columns)
        return {**parse_system(scalars), **{t.stored_as: t.parse(varbinds) for t in tables}}

    async def _walk(
        self, session: _Session, scalars: tuple[str, ...], columns: tuple[str, ...]
    ) -> tuple[list[VarBind], list[VarBind]]:
        """SCALARS (`x.0`), and COLUMNS each to its end ([] for the ones the agent lacks).

        The scalars ride in the first GETBULK as non-repeaters, asked as the successor of
        their object (`x` -> `x.0`): no separate GET. See `TableWalk` for the columns.
        """
        walk = TableWalk(columns)
        objects = tuple(oid.removesuffix(".0") for oid in scalars)
        system: list[VarBind] | None = None
        repetitions, cell_room = FIRST_REPETITIONS, VARBINDS_PER_REQUEST
        while system is None or walk.pending or walk.cells_left:
            asked = objects if system is None else ()
            walk.take_cells()
            free = VARBINDS_PER_REQUEST - len(asked) - len(walk.pending)
            cells = walk.cells(max(1, min(cell_room, free)))
            cell_oids = tuple(oid for _, oid in cells)
            room = (VARBINDS_PER_REQUEST - len(asked) - len(cells)) // max(1, len(walk.pending))
            per_column = walk.repetitions(max(1, min(repetitions, room)))
            response = await self._send(
                session, asked + cell_oids, walk.starts(), per_column, first=system is None
            )
            if int(response[1] or 0) == TOO_BIG and (per_column > 1 or len(cells) > 1):
                # an agent that answers tooBig, not truncating: ask less
                repetitions, cell_room = max(1, per_column // 2), max(1, len(cells) // 2)
                continue
            named = asked + cell_oids + walk.pending
            _check(session, response, named[0] if named else "", first=system is None)
            answer: list[VarBind] = list(response[3])
            if not answer:
                raise SnmpFailure(
                    ProbeStatus.ERROR, f"{session.where} sent an empty GETBULK answer"
                )
            if system is None:  # an absent scalar's successor is some other object
                system = [vb for vb, oid in zip(answer, scalars, strict=False) if vb[0] == oid]
            walk.took_cells(cells, answer[len(asked) : len(asked) + len(cells)])
            if walk.pending:
                walk.took(answer[len(asked) + len(cells) :])
            repetitions = min(MAX_REPETITIONS, per_column * 2)
        return system, walk.found

    async def _send(
        self,
        session: _Session,
        non_repeaters: tuple[str, ...],
        repeaters: tuple[str, ...],
        repetitions: int,
        first: bool = False,
    ) -> Response:
        """One GETBULK, with at most `max_in_flight` requests in flight; FIRST: a host's
        first, the same for every host."""
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def answered(response: Response) -> None:
            if not future.done():
                future.set_result(response)

        async with self._in_flight:
            session.requester.send(non_repeaters, repeaters, repetitions, answered, first)
            return await future

    async def close(self) -> None:
        self._requesters.close()
