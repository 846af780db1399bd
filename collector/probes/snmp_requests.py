"""How the SNMP probe sends one GETBULK: pysnmp's light v1arch dispatcher for v2c, this
project's `snmp_v3.V3Dispatcher` for v3. No MIB lookup on either path: OIDs are numeric.

Why not pysnmp's SNMP engine for v3 (measured with bench/snmp_cpu.py over 100 agents, each
its own engine ID, on this project's 2-core machine): even with requests sent to each
host directly, keys localised in a dict and MIB modules compiled once a process, its
message layer (the frame and security parameters decoded by pyasn1 per message, the
message encoded twice, the engine's MIB-backed state) cost 5.0-5.8 ms of CPU a host for
verify's tables against v2c's 3.0-3.7. `snmp_usm` reads and writes the frame by hand and
keeps pysnmp's key localisation, ciphers and PDU codec. Either way, decoding the PDU
costs ~0.07-0.17 ms a varbind (pyasn1).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pyasn1.error import PyAsn1Error  # type: ignore[import-untyped]
from pysnmp.hlapi.v1arch.asyncio import CommunityData as V1CommunityData
from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher
from pysnmp.hlapi.v1arch.asyncio import Udp6TransportTarget as V1Udp6TransportTarget
from pysnmp.hlapi.v1arch.asyncio import UdpTransportTarget as V1UdpTransportTarget
from pysnmp.proto.api import v2c
from pysnmp.proto.error import ProtocolError
from pysnmp.proto.rfc1902 import ObjectName

from pelihara.collector.credentials import SnmpCredentials
from pelihara.collector.probes.snmp_auth import auth_data, usm_user
from pelihara.collector.probes.snmp_usm import UsmUser
from pelihara.collector.probes.snmp_v3 import V3Dispatcher, V3Host

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


class _Dispatcher(SnmpDispatcher):  # type: ignore[misc]
    """pysnmp's v1arch dispatcher, dropping a datagram it cannot decode as the v3 engine does.

    The stock one lets the decoder's exception out to asyncio, which prints a traceback; the
    request then times out like any unanswered one.
    """

    def _recv_callback(self, *args: Any) -> Any:
        try:
            return super()._recv_callback(*args)
        except (PyAsn1Error, ProtocolError) as exc:
            LOG.debug("dropped an SNMP message that does not decode: %s", type(exc).__name__)
            return b""


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
class V2cRequester:
    dispatcher: SnmpDispatcher
    auth: V1CommunityData  # its repr shows the community: never put it in a message
    transport: V1UdpTransportTarget | V1Udp6TransportTarget
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

        def done(_dispatcher: Any, _request: Any, error: Any, response: Any, _ctx: Any) -> None:
            if error or response is None:
                answered((error or "no response", 0, 0, ()))
                return
            status = v2c.apiPDU.get_error_status(response)
            index = v2c.apiPDU.get_error_index(response, muteErrors=True)
            answered((None, status, index, v2c.apiPDU.get_varbinds(response)))

        self.dispatcher.send_pdu(self.auth, self.transport, pdu, cbFun=done)


@dataclass(frozen=True)
class V3Requester:
    dispatcher: V3Dispatcher
    host: V3Host
    first_requests: dict[tuple[object, ...], Any]  # as V2cRequester's

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
    """A probe's means of sending: one v1arch dispatcher for every v2c host, one
    `V3Dispatcher` for every v3 host. Raises ConfigurationError for an unusable credential."""

    def __init__(self) -> None:
        self._dispatcher: SnmpDispatcher | None = None
        self._v3 = V3Dispatcher()
        self._first_requests: dict[tuple[object, ...], Any] = {}
        self._users: dict[SnmpCredentials, UsmUser] = {}  # keys derived once a credential

    async def open(
        self, creds: SnmpCredentials, address: str, port: int, timeout: float, retries: int
    ) -> Requester:
        ipv6 = _is_ipv6(address)
        kind = V1Udp6TransportTarget if ipv6 else V1UdpTransportTarget
        if creds.version == "3":
            user = self._users.get(creds) or self._users.setdefault(creds, usm_user(creds))
            # pysnmp's transport target resolves the address (and words its errors)
            target = await kind.create((address, port), timeout=timeout, retries=retries)
            family = socket.AF_INET6 if ipv6 else socket.AF_INET
            await self._v3.open(family)
            host = V3Host(tuple(target.transport_address[:2]), family, user, timeout, retries)
            return V3Requester(self._v3, host, self._first_requests)
        auth = auth_data(creds)
        assert isinstance(auth, V1CommunityData)  # auth_data: v2c here (v3 above)
        transport = await kind.create((address, port), timeout=timeout, retries=retries)
        if self._dispatcher is None:
            self._dispatcher = _Dispatcher()
        return V2cRequester(self._dispatcher, auth, transport, self._first_requests)

    def close(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.close()
            self._dispatcher = None
        self._v3.close()
