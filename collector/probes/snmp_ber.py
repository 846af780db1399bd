"""The few BER (X.690) shapes an SNMPv3 message's frame is made of, read and written by hand.

An SNMPv3 message (RFC 3412 6) is a SEQUENCE of INTEGERs, OCTET STRINGs and SEQUENCEs of
them, and the USM security parameters (RFC 3414 2.4) the same inside an OCTET STRING: no
other type occurs in the frame. pyasn1 decodes such a frame in ~0.3 ms; these few
functions in ~0.02 ms. The PDU inside (varbinds of every SMI type) stays pyasn1's.

Reading is strict, as befits input from the network: definite lengths only, at most four
length octets, every element inside its parent, INTEGERs within the range the caller gives.
Anything else raises `BerError` and the message is dropped.
"""

from __future__ import annotations

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
MAX_INTEGER = 2_147_483_647  # RFC 3412/3414: every INTEGER of the frame is (0..2147483647)


class BerError(ValueError):
    """A frame that is not the BER the caller expects (never holds the frame's bytes)."""


def header(tag: int, length: int) -> bytes:
    """The tag and definite length octets of an element of LENGTH content octets."""
    if length < 0x80:
        return bytes((tag, length))
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")


def tlv(tag: int, content: bytes) -> bytes:
    return header(tag, len(content)) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def octets(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def integer(value: int) -> bytes:
    """A non-negative INTEGER in its fewest octets (a leading 0x00 where the top bit is set)."""
    if not 0 <= value <= MAX_INTEGER:
        raise BerError(f"INTEGER {value} outside 0..{MAX_INTEGER}")
    return tlv(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def element(data: bytes, pos: int, end: int, tag: int, name: str) -> tuple[int, int]:
    """The content (start, end) of the element of TAG at POS, which must end by END."""
    if pos + 2 > end:
        raise BerError(f"{name}: the message ends before it")
    if data[pos] != tag:
        raise BerError(f"{name}: tag 0x{data[pos]:02x}, expected 0x{tag:02x}")
    length, start = data[pos + 1], pos + 2
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4:  # 0: indefinite length, not allowed in SNMP (RFC 3417 8)
            raise BerError(f"{name}: length in {size} octets")
        if start + size > end:
            raise BerError(f"{name}: the message ends in its length")
        length, start = int.from_bytes(data[start : start + size], "big"), start + size
    if start + length > end:
        raise BerError(f"{name}: {length} octets long, past the end of what holds it")
    return start, start + length


def read_integer(
    data: bytes, pos: int, end: int, name: str, low: int = 0, high: int = MAX_INTEGER
) -> tuple[int, int]:
    """(value, position after it) of an INTEGER in LOW..HIGH."""
    start, stop = element(data, pos, end, INTEGER, name)
    if not 1 <= stop - start <= 5:  # 0..2^31-1 takes at most five octets
        raise BerError(f"{name}: INTEGER of {stop - start} octets")
    value = int.from_bytes(data[start:stop], "big", signed=True)
    if not low <= value <= high:
        raise BerError(f"{name}: {value} outside {low}..{high}")
    return value, stop


def read_octets(
    data: bytes, pos: int, end: int, name: str, most: int | None = None
) -> tuple[bytes, int, int]:
    """(value, its start, position after it) of an OCTET STRING of at most MOST octets."""
    start, stop = element(data, pos, end, OCTET_STRING, name)
    if most is not None and stop - start > most:
        raise BerError(f"{name}: {stop - start} octets, at most {most} allowed")
    return data[start:stop], start, stop
