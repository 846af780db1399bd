"""How the SNMP probe sends one GET or GETBULK: pysnmp's light v1arch dispatcher for v2c,
its SNMP engine (USM, RFC 3414) for v3. No MIB lookup on either path: OIDs are numeric.

Why two paths (measured with bench/verify_fleet.py's SNMP probe on this project's 2-core
machine): v2c has no security state to keep, so it needs no engine, and the v1arch
dispatcher costs ~0.7 ms a request. v3 needs the engine's USM (engine-ID discovery, keys
localised per agent, time windows); its requests go to each host directly (`_TargetedBulk`)
rather than through a target registered in the engine's configuration MIB, which cost
~2 ms of CPU a host (10.3 -> 8.2 ms a host for verify's SNMP reads over 100 hosts). Its
engine is `snmp_auth.new_engine()` (keys localised per agent in a dict, MIB modules compiled
once a process): 5.6-5.8 ms a host, v2c 3.6-3.7 (bench/snmp_cpu.py, notes/snmpcpu.md).
What v3 costs more is pysnmp's message layer: the v3 header and security parameters
encoded and decoded per message, and one more exchange per agent (discovery).
Either way, decoding costs ~0.07-0.17 ms a varbind (pyasn1).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pyasn1.error import PyAsn1Error  # type: ignore[import-untyped]
from pysnmp.entity import config
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v1arch.asyncio import CommunityData as V1CommunityData
from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher
from pysnmp.hlapi.v1arch.asyncio import Udp6TransportTarget as V1Udp6TransportTarget
from pysnmp.hlapi.v1arch.asyncio import UdpTransportTarget as V1UdpTransportTarget
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine, Udp6TransportTarget, UdpTransportTarget
from pysnmp.proto.api import v2c
from pysnmp.proto.error import ProtocolError, StatusInformation
from pysnmp.proto.rfc1902 import ObjectName

from pelihara.collector.credentials import SnmpCredentials
from pelihara.collector.probes.snmp_auth import Engines, add_user, auth_data

LOG = logging.getLogger("pelihara.snmp")
Response = tuple[Any, Any, Any, Any]  # errorIndication, errorStatus, errorIndex, varbinds
Answered = Callable[[Response], None]

SECURITY_LEVELS = {"noAuthNoPriv": 1, "authNoPriv": 2, "authPriv": 3}


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


@dataclass(frozen=True)
class V2cRequester:
    dispatcher: SnmpDispatcher
    auth: V1CommunityData  # its repr shows the community: never put it in a message
    transport: V1UdpTransportTarget | V1Udp6TransportTarget
    # The first request is the same for every host (the scalars and the tables' first
    # columns): its PDU is built once and only given a new request-id per host (~5 % of the
    # probe's CPU; the dispatcher encodes it before `send` returns).
    first_requests: dict[tuple[object, ...], Any]

    def send(
        self,
        non_repeaters: tuple[str, ...],
        repeaters: tuple[str, ...],
        repetitions: int,
        answered: Answered,
        first: bool = False,
    ) -> None:
        key = (non_repeaters, repeaters, repetitions)
        pdu = self.first_requests.get(key) if first else None
        if pdu is None:
            pdu = v2c.GetBulkRequestPDU()
            v2c.apiPDU.set_defaults(pdu)
            v2c.apiBulkPDU.set_non_repeaters(pdu, len(non_repeaters))
            v2c.apiBulkPDU.set_max_repetitions(pdu, repetitions)
            v2c.apiPDU.set_varbinds(pdu, _varbinds(non_repeaters, repeaters))
            if first:
                self.first_requests[key] = pdu
        else:
            v2c.apiPDU.set_request_id(pdu, v2c.getNextRequestID())

        def done(_dispatcher: Any, _request: Any, error: Any, response: Any, _ctx: Any) -> None:
            if error or response is None:
                answered((error or "no response", 0, 0, ()))
                return
            status = v2c.apiPDU.get_error_status(response)
            index = v2c.apiPDU.get_error_index(response, muteErrors=True)
            answered((None, status, index, v2c.apiPDU.get_varbinds(response)))

        self.dispatcher.send_pdu(self.auth, self.transport, pdu, cbFun=done)


class _TargetedBulk(cmdgen.BulkCommandGenerator):  # type: ignore[misc]
    """pysnmp's GETBULK generator, told the host's address and security level directly.

    The stock one looks a target name up in the engine's SNMP-TARGET-MIB, so every host
    must first be registered there (`add_target_address`: MIB instrumentation, ~1.7 ms of
    CPU a host, and each registration empties pysnmp's lookup cache). This `send_pdu` does
    what pysnmp's does after that lookup (rfc3413/cmdgen.py, pysnmp 7.1), with the same
    bookkeeping, so that pysnmp's own `process_response_pdu` does the retries, the
    re-discovery and the request-id check as before.
    """

    def send_varbinds(
        self, engine: SnmpEngine, target: Any, context_engine_id: Any, context_name: Any,
        non_repeaters: int, repetitions: int, varbinds: Any, callback: Any,
    ) -> Any:  # fmt: skip
        """pysnmp's `send_varbinds` (the same PDU and callback context), returning the PDU;
        VARBINDS may be a VarBindList already built, then set into the PDU as it is."""
        pdu = v2c.GetBulkRequestPDU()
        v2c.apiBulkPDU.set_defaults(pdu)
        v2c.apiBulkPDU.set_non_repeaters(pdu, non_repeaters)
        v2c.apiBulkPDU.set_max_repetitions(pdu, repetitions)
        if isinstance(varbinds, v2c.VarBindList):
            pdu.setComponentByPosition(3, varbinds)
        else:
            v2c.apiBulkPDU.set_varbinds(pdu, varbinds)
        context = (target, non_repeaters, repetitions, context_engine_id, context_name, pdu,
                   callback, None)  # fmt: skip
        self.send_pdu(engine, target, context_engine_id, context_name, pdu,
                      self.process_response_varbinds, context)  # fmt: skip
        return pdu

    def send_pdu(
        self, engine: SnmpEngine, target: Any, context_engine_id: Any, context_name: Any,
        pdu: Any, callback: Any, context: Any,
    ) -> Any:  # fmt: skip
        host: _V3Host = target
        ticks = host.timeout / engine.transport_dispatcher.get_timer_resolution()
        handle = cmdgen.getNextHandle()
        send_handle = engine.message_dispatcher.send_pdu(
            engine, host.domain, host.address, 3, 3, host.security_name, host.security_level,
            None, host.context_name, 1, pdu, True, ticks, self.process_response_pdu,
            (handle, callback, context),
        )  # fmt: skip
        engine.transport_dispatcher.job_started(id(self))
        self._CommandGenerator__pendingReqs[send_handle] = (
            host.domain, host.address, 3, 3, host.security_name, host.security_level,
            None, host.context_name, 1, pdu, ticks, host.retries, 0, 0,
        )  # fmt: skip
        return handle


@dataclass(frozen=True)
class _V3Host:
    domain: tuple[int, ...]
    address: tuple[str, int]
    security_name: Any
    security_level: int  # SNMP-TARGET-MIB's SnmpSecurityLevel: 1, 2 or 3
    context_name: Any
    timeout: float
    retries: int


@dataclass(frozen=True)
class V3Requester:
    engine: SnmpEngine
    host: _V3Host
    generator: _TargetedBulk
    # The first request's varbind list, built once (~0.12 ms) and shared by every host's
    # PDU (never changed once sent); each PDU is its own, with its own request-id, which
    # pysnmp checks in the answer and keeps for a re-send after discovery.
    first_varbinds: dict[tuple[object, ...], Any]

    def send(
        self,
        non_repeaters: tuple[str, ...],
        repeaters: tuple[str, ...],
        repetitions: int,
        answered: Answered,
        first: bool = False,
    ) -> None:
        def done(
            _engine: Any, _handle: Any, error: Any, status: Any, index: Any, varbinds: Any,
            _ctx: Any,
        ) -> None:  # fmt: skip
            answered((error, status, index, varbinds))

        key = (non_repeaters, repeaters)
        varbinds = self.first_varbinds.get(key) if first else None
        if varbinds is None:
            varbinds = _varbinds(non_repeaters, repeaters)
        try:
            pdu = self.generator.send_varbinds(
                self.engine, self.host, None, b"", len(non_repeaters), repetitions, varbinds, done
            )
        except StatusInformation as status:  # refused before sending (e.g. an unknown user)
            answered((status["errorIndication"], 0, 0, ()))
            return
        if first and key not in self.first_varbinds:
            self.first_varbinds[key] = v2c.apiBulkPDU.get_varbind_list(pdu)


def _is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError:
        return False  # a name: pysnmp resolves it to IPv4


class Requesters:
    """A probe's means of sending: one v1arch dispatcher for every v2c host, SNMP engines
    for v3 (see `Engines`). Raises ConfigurationError for an unusable credential."""

    def __init__(self) -> None:
        self._dispatcher: SnmpDispatcher | None = None
        self._first_requests: dict[tuple[object, ...], Any] = {}
        self._first_varbinds: dict[tuple[object, ...], Any] = {}
        self._engines = Engines()
        self._users: set[tuple[SnmpEngine, str]] = set()  # (engine, v3 user name) added
        self._generator = _TargetedBulk()

    async def open(
        self, creds: SnmpCredentials, address: str, port: int, timeout: float, retries: int
    ) -> Requester:
        ipv6 = _is_ipv6(address)
        auth = auth_data(creds)
        if isinstance(auth, V1CommunityData):
            kind = V1Udp6TransportTarget if ipv6 else V1UdpTransportTarget
            transport = await kind.create((address, port), timeout=timeout, retries=retries)
            if self._dispatcher is None:
                self._dispatcher = _Dispatcher()
            return V2cRequester(self._dispatcher, auth, transport, self._first_requests)
        v3_kind = Udp6TransportTarget if ipv6 else UdpTransportTarget
        target = await v3_kind.create((address, port), timeout=timeout, retries=retries)
        engine = self._engines.engine_for(creds)
        if (engine, auth.userName) not in self._users:  # every user its engine is shared by
            add_user(engine, creds)
            self._users.add((engine, auth.userName))
        if config.get_transport(engine, v3_kind.TRANSPORT_DOMAIN) is None:
            config.add_transport(engine, v3_kind.TRANSPORT_DOMAIN, target.open_client_mode())
        (admin_string,) = engine.get_mib_builder().import_symbols(
            "SNMP-FRAMEWORK-MIB", "SnmpAdminString"
        )
        host = _V3Host(v3_kind.TRANSPORT_DOMAIN, target.transport_address,
                       admin_string(auth.securityName), SECURITY_LEVELS[auth.security_level],
                       admin_string(b""), timeout, retries)  # fmt: skip
        return V3Requester(engine, host, self._generator, self._first_varbinds)

    def close(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.close()
            self._dispatcher = None
        self._engines.close()
