"""SNMP requests over UDP, v2c and v3: pelihara's light dispatcher (no SNMP engine, no MIB).

Both versions share the sending, the reading (every datagram waiting at each wake-up of the
event loop: asyncio's datagram transport, and pysnmp's dispatchers on it, read one a loop
iteration, which cost v2c ~0.1 ms of CPU a host) and the timeouts (one sweeping timer).
A v2c request (RFC 1901) is matched to its answer by request-id; a v3 one (`snmp_usm`) by
msgID, then request-id.

v3: a request to an agent whose engine is not known yet is preceded by discovery (RFC 3414
4: one exchange, which gives the engine ID and clock); an agent that reports our clock out
of its time window, or that it no longer knows its engine ID (it was re-installed), is
synced and asked again, at most `SYNCS` times a request, as pysnmp does. A request
unanswered is sent again after its timeout, as a new message (new msgID, salt and time, as
RFC 3412 wants), `retries` times. A report of a refusal (wrong digest, unknown user, wrong
privacy, security level) ends the request with pysnmp's error indication for it, so the
probe words it as it words pysnmp's. Anything that does not read as an answer to a pending
request, from the address it was sent to, is dropped (logged at debug level, never its
contents).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from dataclasses import dataclass, field
from typing import Any

from pyasn1.codec.ber import encoder  # type: ignore[import-untyped]
from pysnmp.proto import errind
from pysnmp.proto.api import v2c
from pysnmp.proto.error import StatusInformation

from pelihara.collector.probes.snmp_ber import BerError, integer, octets, sequence, tlv
from pelihara.collector.probes.snmp_pdu import (
    REPORT,
    RESPONSE,
    V2C,
    Pdu,
    message_version,
    read_pdu,
    read_v2c_message,
)
from pelihara.collector.probes.snmp_usm import (
    AUTH,
    ENGINE_ID_SIZES,
    Incoming,
    Peer,
    UsmUser,
    authentic,
    discovery,
    parse,
    plaintext,
    read_scoped_pdu,
    request,
    scoped_pdu,
)

LOG = logging.getLogger("pelihara.snmp")
Response = tuple[Any, Any, Any, Any]  # errorIndication, errorStatus, errorIndex, varbinds
MAX_DATAGRAM = 65535
SWEEP = 0.05  # seconds between looks for lost messages: a timeout is kept to within this
SYNCS = 4  # discovery and time-window re-sends of one request (pysnmp's discoveryRetries)
USM_STATS = "1.3.6.1.6.3.15.1.1."
UNKNOWN_ENGINE_ID = USM_STATS + "4.0"
NOT_IN_TIME_WINDOW = USM_STATS + "2.0"
# A report's usmStats counter (RFC 3414 5) as pysnmp's error indication (rfc3412 7.2.11).
REPORTED = {
    USM_STATS + "1.0": errind.unsupportedSecurityLevel,
    NOT_IN_TIME_WINDOW: errind.notInTimeWindow,
    USM_STATS + "3.0": errind.unknownUserName,
    UNKNOWN_ENGINE_ID: errind.unknownEngineID,
    USM_STATS + "5.0": errind.wrongDigest,
    USM_STATS + "6.0": errind.decryptionError,
}
GET = 0xA0
_V2C = integer(1)  # a v2c message's version (RFC 1901)


class Dropped(Exception):
    """A datagram that is not a usable answer: logged and dropped, the request still waits."""


@dataclass(frozen=True)
class Host:
    """An agent and how to ask it: as v3 USER, or with a v2c COMMUNITY."""

    address: tuple[str, int]  # the agent's resolved address, as datagrams come from it
    family: int  # socket.AF_INET or AF_INET6
    timeout: float
    retries: int
    user: UsmUser | None = None
    community: bytes | None = field(default=None, repr=False)  # never in a message


@dataclass(eq=False)
class _Request:
    host: Host
    pdu: bytes  # the GETBULK's encoding: the PDU object may be reused once sent
    request_id: int
    answered: Any  # Callable[[Response], None]
    key: tuple[str, int] = ("", 0)  # in `_pending`: ("v3", msgID) or ("2c", request-id)
    msg_id: int = 0
    discovering: bool = False
    tries: int = 0
    syncs: int = 0
    deadline: float = 0.0  # loop time after which the message is taken as lost


class Dispatcher:
    """Sends GETBULKs and reads their answers, on one UDP socket an address family.

    The sockets are read by the event loop's reader callback, every datagram waiting at
    each wake-up (asyncio's datagram transport reads one a loop iteration); a datagram
    that cannot be sent (the socket's buffer full) counts as lost and is sent again after
    the request's timeout."""

    def __init__(self) -> None:
        self._sockets: dict[int, socket.socket] = {}
        self._pending: dict[tuple[str, int], _Request] = {}
        self._peers: dict[tuple[str, int], Peer] = {}
        self._msg_id = random.randrange(1, 1 << 30)  # noqa: S311 (an identifier, not a secret)
        self._sweeping: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self, family: int) -> None:
        """A socket for FAMILY (AF_INET or AF_INET6), once."""
        if family not in self._sockets:
            udp = socket.socket(family, socket.SOCK_DGRAM)
            udp.setblocking(False)
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(udp.fileno(), self._readable, udp)
            self._sockets[family] = udp

    def send(self, host: Host, pdu: Any, answered: Any) -> None:
        """PDU to HOST (its socket opened); the answer or error goes to ANSWERED, once."""
        request_id = int(v2c.apiPDU.get_request_id(pdu))
        self._transmit(_Request(host, encoder.encode(pdu), request_id, answered))

    def _transmit(self, req: _Request) -> None:
        if req.host.community is not None:  # v2c: the same message every time
            req.key = ("2c", req.request_id)
            self._sent(req, sequence(_V2C, octets(req.host.community), req.pdu))
            return
        self._msg_id = self._msg_id % 0x7FFFFFFF + 1
        req.msg_id, req.key = self._msg_id, ("v3", self._msg_id)
        peer = self._peers.get(req.host.address)
        req.discovering = peer is None
        if peer is None:
            message = discovery(req.msg_id, _discovery_pdu(req.request_id))
        else:
            context = scoped_pdu(peer.engine_id, req.pdu)
            try:
                message = request(req.msg_id, _user(req), peer, context)
            except (StatusInformation, ValueError) as exc:  # pysnmp's ciphers
                LOG.debug("could not encrypt a v3 request: %s", type(exc).__name__)
                req.answered((errind.encryptionError, 0, 0, ()))
                return
        self._sent(req, message)

    def _sent(self, req: _Request, message: bytes) -> None:
        loop = asyncio.get_running_loop()
        req.deadline = loop.time() + req.host.timeout
        self._pending[req.key] = req
        try:
            self._sockets[req.host.family].sendto(message, req.host.address)
        except OSError as exc:  # lost, as UDP may lose it: sent again at its deadline
            LOG.debug("could not send an SNMP message to %s: %s", req.host.address[0], exc)
        if self._sweeping is None:
            self._sweeping = loop.call_later(SWEEP, self._sweep)

    def _sweep(self) -> None:
        """Every SWEEP seconds while requests are pending: re-send or end the lost ones.

        One timer for all, as pysnmp's dispatchers do: a timer a message (300 for 100
        hosts) cost the event loop more than the sweep (measured with bench/snmp_cpu.py)."""
        self._sweeping = None  # first: a re-send below may schedule the next sweep
        loop = asyncio.get_running_loop()
        now = loop.time()
        for key, req in list(self._pending.items()):
            if req.deadline <= now:
                del self._pending[key]
                self._expired(req)
        if self._pending and self._sweeping is None:
            self._sweeping = loop.call_later(SWEEP, self._sweep)

    def _expired(self, req: _Request) -> None:
        if req.tries >= req.host.retries:
            req.answered((errind.requestTimedOut, 0, 0, ()))
            return
        req.tries += 1
        self._transmit(req)

    def _readable(self, udp: socket.socket) -> None:
        while True:
            try:
                data, addr = udp.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an error queued on the socket: nothing more to read now
                LOG.debug("SNMP socket error: %s", exc)
                return
            self.datagram_received(data, addr)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            if message_version(data) == V2C:
                self._v2c_received(data, addr)
                return
            incoming = parse(data)
        except BerError as exc:
            LOG.debug("dropped a datagram from %s that is no SNMP answer: %s", addr[0], exc)
            return
        req = self._pending.get(("v3", incoming.msg_id))
        if req is None or tuple(addr[:2]) != req.host.address:
            LOG.debug("dropped an SNMPv3 message from %s: no request of its msgID", addr[0])
            return
        try:
            self._answered(req, incoming)
        except Dropped as exc:
            LOG.debug("dropped an SNMPv3 message from %s: %s", addr[0], exc)

    def _v2c_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        community, pdu = read_v2c_message(data)
        req = self._pending.get(("2c", pdu.request_id))
        if req is None or tuple(addr[:2]) != req.host.address or pdu.tag != RESPONSE:
            LOG.debug("dropped an SNMP v2c message from %s: no request of its id", addr[0])
            return
        if community != req.host.community:
            LOG.debug("dropped an SNMP v2c message from %s: another community", addr[0])
            return
        del self._pending[req.key]
        req.answered((None, pdu.error_status, pdu.error_index, pdu.varbinds))

    def _answered(self, req: _Request, incoming: Incoming) -> None:
        """What INCOMING means for REQ: its answer, its error, or a re-send after a sync.

        Raises Dropped for a message that must not be taken (the request waits on)."""
        user = _user(req)
        peer = self._peers.get(req.host.address)
        authenticated = bool(incoming.flags & AUTH)
        if authenticated:
            peer = self._authentic_peer(req, incoming, peer)
        try:
            scoped = plaintext(incoming, user, user.keys(peer.engine_id)) if peer else incoming.data
            context, name, encoded = read_scoped_pdu(scoped)
            pdu = read_pdu(encoded, 0, len(encoded))
        except BerError as exc:
            raise Dropped(f"its ScopedPDU does not decode ({exc})") from None
        if pdu.tag == REPORT:
            self._reported(req, incoming, pdu, authenticated)
            return
        if req.discovering or incoming.authentic_flags != user.flags:  # RFC 3412 7.2.12b
            raise Dropped("a response at another security level than the request's")
        if peer is None or context != peer.engine_id or name:
            raise Dropped("a response of another context than the request's")
        if pdu.request_id != req.request_id:
            raise Dropped("a response of another request-id than the request's")
        del self._pending[req.key]
        req.answered((None, pdu.error_status, pdu.error_index, pdu.varbinds))

    def _authentic_peer(self, req: _Request, incoming: Incoming, peer: Peer | None) -> Peer:
        """The agent's engine, once INCOMING proved to be from it (RFC 3414 3.2 steps 4-7)."""
        user = _user(req)
        if peer is None or incoming.engine_id != peer.engine_id or incoming.user != user.name:
            raise Dropped("an authenticated message of another engine ID or user")
        if not authentic(incoming, user, user.keys(peer.engine_id)):
            raise Dropped("its digest is not our user's (wrong key, or altered)")
        if not peer.timely(incoming.boots, incoming.time):
            raise Dropped("outside the agent's time window (a replay?)")
        return peer

    def _reported(self, req: _Request, incoming: Incoming, pdu: Pdu, authenticated: bool) -> None:
        oid = pdu.varbinds[0][0] if pdu.varbinds else ""
        if oid == UNKNOWN_ENGINE_ID and (req.discovering or not authenticated):
            self._discovered(req, incoming)
        elif oid == NOT_IN_TIME_WINDOW and authenticated:  # the clock is synced by now
            self._sync(req)
        else:
            del self._pending[req.key]
            error = REPORTED.get(oid) or errind.ReportPduReceived(oid or "an empty report")
            req.answered((error, 0, 0, ()))

    def _discovered(self, req: _Request, incoming: Incoming) -> None:
        """Discovery's report (RFC 3414 4): the agent's engine ID and clock, taken unauthenticated
        as net-snmp and pysnmp take them; the request then goes out as itself."""
        if len(incoming.engine_id) not in ENGINE_ID_SIZES:
            size = len(incoming.engine_id)
            raise Dropped(f"a discovery report with an engine ID of {size} octets")
        peer = self._peers.get(req.host.address)
        if peer is None or peer.engine_id != incoming.engine_id or not req.discovering:
            times = (incoming.boots, incoming.time, incoming.time)
            self._peers[req.host.address] = Peer(incoming.engine_id, *times)
        self._sync(req)

    def _sync(self, req: _Request) -> None:
        del self._pending[req.key]
        if req.syncs >= SYNCS:
            req.answered((errind.notInTimeWindow, 0, 0, ()))
            return
        req.syncs += 1
        self._transmit(req)

    def close(self) -> None:
        if self._sweeping is not None:
            self._sweeping.cancel()
            self._sweeping = None
        for req in self._pending.values():
            req.answered((errind.requestTimedOut, 0, 0, ()))
        self._pending.clear()
        for udp in self._sockets.values():
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(udp.fileno())
            udp.close()
        self._sockets.clear()


def _user(req: _Request) -> UsmUser:
    user = req.host.user
    if user is None:  # a v3 message is made only for a host with a user
        raise TypeError("a v3 request without a v3 user")
    return user


def _discovery_pdu(request_id: int) -> bytes:
    """An empty GetRequest-PDU, as net-snmp's discovery probe sends."""
    return tlv(GET, integer(request_id) + integer(0) + integer(0) + sequence())
