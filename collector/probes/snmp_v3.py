"""SNMPv3 requests over UDP: a light dispatcher for `snmp_usm`'s messages, as pysnmp's v1arch
dispatcher is for v2c (no SNMP engine, no MIB).

A request to an agent whose engine is not known yet is preceded by discovery (RFC 3414 4:
one exchange, which gives the engine ID and clock); an agent that reports our clock out of
its time window, or that it no longer knows its engine ID (it was re-installed), is synced
and asked again, at most `SYNCS` times a request, as pysnmp does. A request unanswered is
sent again after its timeout, as a new message (new msgID, salt and time, as RFC 3412
wants), `retries` times. A report of a refusal (wrong digest, unknown user, wrong privacy,
security level) ends the request with pysnmp's error indication for it, so the probe
words it as it words pysnmp's. Anything that does not read as an answer to a pending
request, from the address it was sent to, is dropped (logged at debug level, never its
contents).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pyasn1.error import PyAsn1Error  # type: ignore[import-untyped]
from pysnmp.proto import errind
from pysnmp.proto.api import v2c
from pysnmp.proto.error import StatusInformation

from pelihara.collector.probes.snmp_ber import BerError, integer, sequence, tlv
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
RESPONSE, REPORT = 0xA2, 0xA8  # the PDUs' tags (RFC 3416 3)
PDU_SPECS = {RESPONSE: v2c.ResponsePDU(), REPORT: v2c.ReportPDU()}
GET = 0xA0


class Dropped(Exception):
    """A datagram that is not a usable answer: logged and dropped, the request still waits."""


@dataclass(frozen=True)
class V3Host:
    address: tuple[str, int]  # the agent's resolved address, as datagrams come from it
    family: int  # socket.AF_INET or AF_INET6
    user: UsmUser
    timeout: float
    retries: int


@dataclass(eq=False)
class _Request:
    host: V3Host
    pdu: bytes  # the GETBULK's encoding: the PDU object may be reused once sent
    request_id: int
    answered: Any  # Callable[[Response], None]
    msg_id: int = 0
    discovering: bool = False
    tries: int = 0
    syncs: int = 0
    timer: asyncio.TimerHandle | None = None

    def answer(self, response: Response) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.answered(response)


class V3Dispatcher(asyncio.DatagramProtocol):
    """Sends v3 GETBULKs and reads their answers, on one UDP socket an address family."""

    def __init__(self) -> None:
        self._sockets: dict[int, asyncio.DatagramTransport] = {}
        self._pending: dict[int, _Request] = {}
        self._peers: dict[tuple[str, int], Peer] = {}
        self._msg_id = random.randrange(1, 1 << 30)  # noqa: S311 (an identifier, not a secret)

    async def open(self, family: int) -> None:
        """A socket for FAMILY (AF_INET or AF_INET6), once."""
        if family not in self._sockets:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(lambda: self, family=family)
            self._sockets[family] = transport

    def send(self, host: V3Host, pdu: Any, answered: Any) -> None:
        """PDU to HOST (its socket opened); the answer or error goes to ANSWERED, once."""
        request_id = int(v2c.apiPDU.get_request_id(pdu))
        self._transmit(_Request(host, encoder.encode(pdu), request_id, answered))

    def _transmit(self, req: _Request) -> None:
        self._msg_id = self._msg_id % 0x7FFFFFFF + 1
        req.msg_id = self._msg_id
        peer = self._peers.get(req.host.address)
        req.discovering = peer is None
        if peer is None:
            message = discovery(req.msg_id, _discovery_pdu(req.request_id))
        else:
            context = scoped_pdu(peer.engine_id, req.pdu)
            try:
                message = request(req.msg_id, req.host.user, peer, context)
            except (StatusInformation, ValueError) as exc:  # pysnmp's ciphers
                LOG.debug("could not encrypt a v3 request: %s", type(exc).__name__)
                req.answer((errind.encryptionError, 0, 0, ()))
                return
        self._pending[req.msg_id] = req
        self._sockets[req.host.family].sendto(message, req.host.address)
        req.timer = asyncio.get_running_loop().call_later(
            req.host.timeout, self._expired, req.msg_id
        )

    def _expired(self, msg_id: int) -> None:
        req = self._pending.pop(msg_id, None)
        if req is None:
            return
        req.timer = None
        if req.tries >= req.host.retries:
            req.answer((errind.requestTimedOut, 0, 0, ()))
            return
        req.tries += 1
        self._transmit(req)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            incoming = parse(data)
        except BerError as exc:
            LOG.debug("dropped a datagram from %s that is no SNMPv3 message: %s", addr[0], exc)
            return
        req = self._pending.get(incoming.msg_id)
        if req is None or tuple(addr[:2]) != req.host.address:
            LOG.debug("dropped an SNMPv3 message from %s: no request of its msgID", addr[0])
            return
        try:
            self._answered(req, incoming)
        except Dropped as exc:
            LOG.debug("dropped an SNMPv3 message from %s: %s", addr[0], exc)

    def error_received(self, exc: Exception) -> None:
        LOG.debug("SNMPv3 socket error: %s", exc)

    def _answered(self, req: _Request, incoming: Incoming) -> None:
        """What INCOMING means for REQ: its answer, its error, or a re-send after a sync.

        Raises Dropped for a message that must not be taken (the request waits on)."""
        user = req.host.user
        peer = self._peers.get(req.host.address)
        authenticated = bool(incoming.flags & AUTH)
        if authenticated:
            peer = self._authentic_peer(req, incoming, peer)
        try:
            scoped = plaintext(incoming, user, user.keys(peer.engine_id)) if peer else incoming.data
            context, name, encoded = read_scoped_pdu(scoped)
            pdu = _decoded(encoded)
        except (BerError, PyAsn1Error) as exc:
            raise Dropped(f"its ScopedPDU does not decode ({exc})") from None
        if encoded[0] == REPORT:
            self._reported(req, incoming, pdu, authenticated)
            return
        if req.discovering or incoming.authentic_flags != user.flags:  # RFC 3412 7.2.12b
            raise Dropped("a response at another security level than the request's")
        if peer is None or context != peer.engine_id or name:
            raise Dropped("a response of another context than the request's")
        if v2c.apiPDU.get_request_id(pdu) != req.request_id:
            raise Dropped("a response of another request-id than the request's")
        del self._pending[req.msg_id]
        status = v2c.apiPDU.get_error_status(pdu)
        index = v2c.apiPDU.get_error_index(pdu, muteErrors=True)
        req.answer((None, status, index, v2c.apiPDU.get_varbinds(pdu)))

    def _authentic_peer(self, req: _Request, incoming: Incoming, peer: Peer | None) -> Peer:
        """The agent's engine, once INCOMING proved to be from it (RFC 3414 3.2 steps 4-7)."""
        user = req.host.user
        if peer is None or incoming.engine_id != peer.engine_id or incoming.user != user.name:
            raise Dropped("an authenticated message of another engine ID or user")
        if not authentic(incoming, user, user.keys(peer.engine_id)):
            raise Dropped("its digest is not our user's (wrong key, or altered)")
        if not peer.timely(incoming.boots, incoming.time):
            raise Dropped("outside the agent's time window (a replay?)")
        return peer

    def _reported(self, req: _Request, incoming: Incoming, pdu: Any, authenticated: bool) -> None:
        varbinds = v2c.apiPDU.get_varbinds(pdu)
        oid = str(varbinds[0][0]) if varbinds else ""
        if oid == UNKNOWN_ENGINE_ID and (req.discovering or not authenticated):
            self._discovered(req, incoming)
        elif oid == NOT_IN_TIME_WINDOW and authenticated:  # the clock is synced by now
            self._sync(req)
        else:
            del self._pending[req.msg_id]
            error = REPORTED.get(oid) or errind.ReportPduReceived(oid or "an empty report")
            req.answer((error, 0, 0, ()))

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
        del self._pending[req.msg_id]
        if req.timer is not None:
            req.timer.cancel()
            req.timer = None
        if req.syncs >= SYNCS:
            req.answer((errind.notInTimeWindow, 0, 0, ()))
            return
        req.syncs += 1
        self._transmit(req)

    def close(self) -> None:
        for req in self._pending.values():
            req.answer((errind.requestTimedOut, 0, 0, ()))
        self._pending.clear()
        for socket in self._sockets.values():
            socket.close()
        self._sockets.clear()


def _discovery_pdu(request_id: int) -> bytes:
    """An empty GetRequest-PDU, as net-snmp's discovery probe sends."""
    return tlv(GET, integer(request_id) + integer(0) + integer(0) + sequence())


def _decoded(encoded: bytes) -> Any:
    spec = PDU_SPECS.get(encoded[0]) if encoded else None
    if spec is None:
        raise BerError("neither a Response-PDU nor a Report-PDU")
    pdu, rest = decoder.decode(encoded, asn1Spec=spec)
    if rest:
        raise BerError("octets after the PDU")
    return pdu
