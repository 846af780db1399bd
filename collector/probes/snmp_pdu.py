"""The answers of an SNMP agent read by hand: a v2c message's frame (RFC 1901), and the
Response and Report PDUs (RFC 3416 3) with their varbinds as plain values.

Why by hand: pyasn1 builds a typed object per value, ~0.07-0.17 ms a varbind; verify reads
36 values a host, and decoding them was two thirds of its SNMP CPU and a third of a whole
verify's (py-spy, bench/README.md). Reading the BER here takes ~0.005 ms a value. The values
come out as the tests' `plain_value` makes them of pyasn1's objects (tested against
pyasn1 for every type): int for INTEGER, Counter32/64, Gauge32, TimeTicks and Unsigned32;
bytes for OCTET STRING, IpAddress and Opaque; a dotted str for an OBJECT IDENTIFIER; None
for NULL, noSuchObject, noSuchInstance and endOfMibView.

As net-snmp's own parser does, the unsigned application types are read as unsigned (an
agent that omits the leading zero octet is still read right), within their sizes. Anything
else (an unknown type, a length past its parent, a malformed OID) raises `BerError`, and
the answer is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from pelihara.collector.probes.snmp_ber import (
    INTEGER,
    OCTET_STRING,
    SEQUENCE,
    BerError,
    element,
    read_integer,
    read_octets,
)

RESPONSE, REPORT = 0xA2, 0xA8  # the PDUs' tags (RFC 3416 3)
V2C = 1  # a v2c message's version (RFC 1901)
OBJECT_IDENTIFIER, NULL = 0x06, 0x05
IP_ADDRESS, OPAQUE = 0x40, 0x44
SIGNED = {INTEGER: 4}  # Integer32: its most octets
UNSIGNED = {0x41: 4, 0x42: 4, 0x43: 4, 0x46: 8, 0x47: 4}  # Counter32, Gauge32, TimeTicks,
# Counter64, Unsigned32: their most octets (one more for a leading zero)
OCTETS = {OCTET_STRING, IP_ADDRESS, OPAQUE}
NOTHING = {NULL, 0x80, 0x81, 0x82}  # NULL, noSuchObject, noSuchInstance, endOfMibView
MOST_SUBIDENTIFIERS = 128  # RFC 2578 7.1.3
MAX_REQUEST_ID = 2_147_483_647

Value = int | bytes | str | None
VarBind = tuple[str, Value]


@dataclass(frozen=True)
class Pdu:
    tag: int  # RESPONSE or REPORT
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]


def message_version(data: bytes) -> int:
    """The version field of an SNMP message (0: v1, 1: v2c, 3: v3)."""
    start, end = element(data, 0, len(data), SEQUENCE, "Message")
    return read_integer(data, start, end, "version")[0]


def read_v2c_message(data: bytes) -> tuple[bytes, Pdu]:
    """(community, PDU) of a v2c message (RFC 1901: version 1, community, PDU) filling the
    datagram."""
    start, end = element(data, 0, len(data), SEQUENCE, "Message")
    if end != len(data):
        raise BerError("Message: octets after the message")
    version, pos = read_integer(data, start, end, "version")
    if version != V2C:
        raise BerError(f"version {version}, not 1 (v2c)")
    community, _, pos = read_octets(data, pos, end, "community")
    return community, read_pdu(data, pos, end)


def read_pdu(data: bytes, pos: int, end: int) -> Pdu:
    """The Response-PDU or Report-PDU at POS, which must end at END."""
    tag = data[pos] if pos < end else None
    if tag not in (RESPONSE, REPORT):
        raise BerError("neither a Response-PDU nor a Report-PDU")
    start, stop = element(data, pos, end, tag, "PDU")
    if stop != end:
        raise BerError("PDU: octets after it")
    request_id, at = read_integer(data, start, stop, "request-id", low=-MAX_REQUEST_ID - 1)
    status, at = read_integer(data, at, stop, "error-status", high=18)
    index, at = read_integer(data, at, stop, "error-index")
    return Pdu(tag, request_id, status, index, _varbinds(data, at, stop))


def _varbinds(data: bytes, pos: int, end: int) -> list[VarBind]:
    start, stop = element(data, pos, end, SEQUENCE, "variable-bindings")
    if stop != end:
        raise BerError("variable-bindings: octets after them")
    found: list[VarBind] = []
    while start < stop:
        bind_start, bind_stop = element(data, start, stop, SEQUENCE, "VarBind")
        name_start, name_stop = element(data, bind_start, bind_stop, OBJECT_IDENTIFIER, "name")
        found.append((oid(data[name_start:name_stop]), _value(data, name_stop, bind_stop)))
        start = bind_stop
    return found


def _value(data: bytes, pos: int, end: int) -> Value:
    """The value of a VarBind: the one element from POS to END."""
    tag = data[pos] if pos < end else -1
    start, stop = element(data, pos, end, tag, "value")
    if stop != end:
        raise BerError("VarBind: octets after its value")
    content = data[start:stop]
    if tag in OCTETS:
        return content
    if tag in SIGNED or tag in UNSIGNED:
        return _integer(tag, content)
    if tag == OBJECT_IDENTIFIER:
        return oid(content)
    if tag in NOTHING:
        if content:
            raise BerError(f"value of type 0x{tag:02x} with content")
        return None
    raise BerError(f"value of unknown type 0x{tag:02x}")


def _integer(tag: int, content: bytes) -> int:
    """An integer of TAG's type in at most its size and one octet (an unsigned value's
    leading zero; pyasn1 writes -2**31 in five), within its type's range."""
    most = SIGNED.get(tag) or UNSIGNED[tag]
    unsigned = tag in UNSIGNED
    if not content or len(content) > most + 1:
        raise BerError(f"integer of type 0x{tag:02x} in {len(content)} octets")
    value = int.from_bytes(content, "big", signed=not unsigned)
    bits = 8 * most
    low, high = (0, (1 << bits) - 1) if unsigned else (-(1 << bits - 1), (1 << bits - 1) - 1)
    if not low <= value <= high:
        raise BerError(f"integer of type 0x{tag:02x} too large")
    return value


def oid(content: bytes) -> str:
    """An OBJECT IDENTIFIER's content octets (X.690 8.19) as dotted decimal."""
    if not content or len(content) > MOST_SUBIDENTIFIERS * 5:
        raise BerError(f"OBJECT IDENTIFIER of {len(content)} octets")
    if content[-1] & 0x80:
        raise BerError("OBJECT IDENTIFIER ends inside a subidentifier")
    numbers: list[int] = []
    value, starting = 0, True
    for octet in content:
        if starting and octet == 0x80:
            raise BerError("OBJECT IDENTIFIER: a subidentifier not in its fewest octets")
        value = (value << 7) | (octet & 0x7F)
        starting = not octet & 0x80
        if starting:
            numbers.append(value)
            value = 0
    if len(numbers) >= MOST_SUBIDENTIFIERS:
        raise BerError(f"OBJECT IDENTIFIER of more than {MOST_SUBIDENTIFIERS} subidentifiers")
    first = numbers[0]
    arc = min(first // 40, 2)
    return ".".join(map(str, (arc, first - 40 * arc, *numbers[1:])))
