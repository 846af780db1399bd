"""How the SNMP probe sends one GETBULK: through pelihara's own light dispatcher
(`snmp_dispatch`), v2c and v3 alike. No MIB lookup: OIDs are numeric.

Why not pysnmp's dispatchers (measured with bench/snmp_cpu.py over 100 agents, each its own
engine ID, on this project's 2-core machine): its v3 engine, even with requests sent to
each host directly, keys localised in a dict and MIB modules compiled once a process, cost
5.0-5.8 ms of CPU a host for verify's tables (its message layer: the frame and security
parameters decoded by pyasn1 per message, the message encoded twice, the engine's
MIB-backed state), and its v1arch dispatcher for v2c 3.0-3.7 ms, two thirds of it pyasn1
decoding the answers. pelihara reads the answers by hand (`snmp_pdu`), frames v3 by hand
(`snmp_usm`) and reads every waiting datagram at each wake-up; pysnmp keeps the request
PDU's encoding (pyasn1), the key localisation and the DES ciphers, and resolves names.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pysnmp.hlapi.v1arch.asyncio import CommunityData as V1CommunityData
from pysnmp.hlapi.v1arch.asyncio import Udp6TransportTarget as V1Udp6TransportTarget
from pysnmp.hlapi.v1arch.asyncio import UdpTransportTarget as V1UdpTransportTarget
from pysnmp.proto.api import v2c
from pysnmp.proto.rfc1902 import ObjectName

from pelihara.collector.credentials import SnmpCredentials
from pelihara.collector.probes.snmp_auth import auth_data, octets_of, usm_user
from pelihara.collector.probes.snmp_dispatch import Dispatcher, Host
from pelihara.collector.probes.snmp_usm import UsmUser

LOG = logging.getLogger("pelihara.snmp")
Response = tuple[Any, Any, Any, Any]  # errorIndication, errorStatus, errorIndex, varbinds
Answered = Callable[[Response], None]


class Requester(Protocol):
    """Sends one GETBULK to one host; the answer goes to ANSWERED."""

    def send(
        self,
        non_repeaters: tuple[str, ...],
        repeaters: tuple[str, ...],
        repetitions: int,
        answered: Answered,
        first: bool = False,  # a host's first request: the same for every host
    ) -> None: ...


def _varbinds(*oids: tuple[str, ...]) -> list[tuple[ObjectName, None]]:
    return [(ObjectName(oid), None) for part in oids for oid in part]


def _bulk_pdu(
    first_requests: dict[tuple[object, ...], Any],
    non_repeaters: tuple[str, ...],
    repeaters: tuple[str, ...],
    repetitions: int,
    first: bool,
) -> Any:
    """A GETBULK PDU with a new request-id. A host's first request is the same for every
    host: its PDU is built once and only given a new request-id (~5 % of the probe's CPU);
    the dispatchers encode it before `send` returns."""
    key = (non_repeaters, repeaters, repetitions)
    pdu = first_requests.get(key) if first else None
    if pdu is None:
        pdu = v2c.GetBulkRequestPDU()
        v2c.apiPDU.set_defaults(pdu)
        v2c.apiBulkPDU.set_non_repeaters(pdu, len(non_repeaters))
        v2c.apiBulkPDU.set_max_repetitions(pdu, repetitions)
        v2c.apiPDU.set_varbinds(pdu, _varbinds(non_repeaters, repeaters))
        if first:
            first_requests[key] = pdu
    else:
        v2c.apiPDU.set_request_id(pdu, v2c.getNextRequestID())
    return pdu


@dataclass(frozen=True)
class HostRequester:
    """GETBULKs to one host (v2c or v3: its `Host` says), through the probe's dispatcher."""

    dispatcher: Dispatcher
    host: Host
    first_requests: dict[tuple[object, ...], Any]  # see `_bulk_pdu`

    def send(
        self,
        non_repeaters: tuple[str, ...],
        repeaters: tuple[str, ...],
        repetitions: int,
        answered: Answered,
        first: bool = False,
    ) -> None:
        pdu = _bulk_pdu(self.first_requests, non_repeaters, repeaters, repetitions, first)
        self.dispatcher.send(self.host, pdu, answered)


def _is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError:
        return False  # a name: pysnmp resolves it to IPv4


class Requesters:
    """A probe's means of sending: one `Dispatcher` for every host, v2c or v3. Raises
    ConfigurationError for an unusable credential."""

    def __init__(self) -> None:
        self._dispatcher = Dispatcher()
        self._first_requests: dict[tuple[object, ...], Any] = {}
        self._users: dict[SnmpCredentials, UsmUser] = {}  # keys derived once a credential

    async def open(
        self, creds: SnmpCredentials, address: str, port: int, timeout: float, retries: int
    ) -> Requester:
        user = self._users.get(creds)
        community = None
        if user is None and creds.version == "3":  # checked and its keys derived once
            user = self._users.setdefault(creds, usm_user(creds))
        elif user is None:
            auth = auth_data(creds)  # v2c, or ConfigurationError for an unusable credential
            assert isinstance(auth, V1CommunityData)  # auth_data: v2c here
            community = octets_of(auth.communityName)
        ipv6 = _is_ipv6(address)
        kind = V1Udp6TransportTarget if ipv6 else V1UdpTransportTarget
        # pysnmp's transport target resolves the address (and words its errors)
        target = await kind.create((address, port), timeout=timeout, retries=retries)
        family = socket.AF_INET6 if ipv6 else socket.AF_INET
        await self._dispatcher.open(family)
        resolved = tuple(target.transport_address[:2])
        host = Host(resolved, family, timeout, retries, user, community)
        return HostRequester(self._dispatcher, host, self._first_requests)

    def close(self) -> None:
        self._dispatcher.close()
