"""snmp_pdu, the answers read by hand, against pyasn1 and pysnmp (no network).

What pysnmp encodes (its own types, its v2c Message) must read here as `plain_value` makes
of pyasn1's decoding of the very same octets: every SMI type, and every varbind the probe's
recordings of the real net-snmp agent hold (tests/fixtures/snmp, see its README). What is
not a well-formed answer raises BerError, never anything else.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto.api import v2c

from pelihara.collector.probes.snmp_ber import BerError, integer, octets, sequence, tlv
from pelihara.collector.probes.snmp_dispatch import Dispatcher, Host
from pelihara.collector.probes.snmp_pdu import RESPONSE, message_version, oid, read_v2c_message
from tests.collector.test_snmp_probe import FIXTURES, plain_value, rebuild

EVERY_TYPE = [
    rfc1902.Integer32(0), rfc1902.Integer32(-1), rfc1902.Integer32(-(2**31)),
    rfc1902.Integer32(2**31 - 1), rfc1902.Integer32(127), rfc1902.Integer32(128),
    rfc1902.OctetString(b""), rfc1902.OctetString(b"\x00\xffabc"),
    rfc1902.OctetString(b"x" * 300),  # a long-form length
    rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"), rfc1902.ObjectIdentifier("0.0"),
    rfc1902.ObjectIdentifier("2.999.3"), rfc1902.ObjectIdentifier("1.3.4294967295.128"),
    rfc1902.IpAddress("10.0.0.1"), rfc1902.Counter32(0), rfc1902.Counter32(2**32 - 1),
    rfc1902.Gauge32(2**31), rfc1902.TimeTicks(12345), rfc1902.Counter64(2**64 - 1),
    rfc1902.Unsigned32(7), rfc1902.Opaque(b"\x9f\x78\x04"), rfc1905.noSuchObject,
    rfc1905.noSuchInstance, rfc1905.endOfMibView, rfc1902.Null(""),
]  # fmt: skip


def encoded(varbinds: list[tuple[str, Any]], community: str = "public") -> bytes:
    """A v2c Response message, as pysnmp encodes it."""
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, varbinds)
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def as_pyasn1_reads_it(data: bytes) -> list[tuple[str, Any]]:
    message, _ = decoder.decode(data, asn1Spec=v2c.Message())
    pdu = v2c.apiMessage.get_pdu(message)
    return [(str(name), plain_value(value)) for name, value in v2c.apiPDU.get_varbinds(pdu)]


@pytest.mark.parametrize("value", EVERY_TYPE, ids=lambda v: f"{type(v).__name__}")
def test_every_smi_type_reads_as_pyasn1_reads_it(value: Any) -> None:
    data = encoded([("1.3.6.1.2.1.1.5.0", value)])
    community, pdu = read_v2c_message(data)
    assert (community, pdu.tag, pdu.error_status, pdu.error_index) == (b"public", RESPONSE, 0, 0)
    assert pdu.varbinds == as_pyasn1_reads_it(data)


@pytest.mark.parametrize("name", ["system", "storage", "interfaces", "addresses", "entities"])
def test_the_recorded_agents_varbinds_read_as_pyasn1_reads_them(name: str) -> None:
    document = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    varbinds = [(o, rebuild(kind, value)) for o, kind, value in document["varbinds"]]
    data = encoded(varbinds)
    assert read_v2c_message(data)[1].varbinds == as_pyasn1_reads_it(data)
    assert varbinds


def test_the_request_id_and_error_fields_are_read() -> None:
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 123456)
    v2c.apiPDU.set_error_status(pdu, 2)
    v2c.apiPDU.set_error_index(pdu, 1)
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_pdu(message, pdu)
    read = read_v2c_message(bytes(encoder.encode(message)))[1]
    assert (read.request_id, read.error_status, read.error_index) == (123456, 2, 1)
    assert message_version(bytes(encoder.encode(message))) == 1


def answer_with(value: bytes) -> bytes:
    """A v2c Response of one varbind (sysUpTime.0) whose value is VALUE's octets as given."""
    name = bytes(encoder.encode(rfc1902.ObjectName("1.3.6.1.2.1.1.3.0")))
    pdu = tlv(RESPONSE, integer(1) + integer(0) + integer(0) + sequence(sequence(name, value)))
    return sequence(integer(1), octets(b"public"), pdu)


def test_unsigned_types_without_their_leading_zero_are_read_unsigned_as_net_snmp_does() -> None:
    assert read_v2c_message(answer_with(bytes.fromhex("41 05 00 ff ff ff ff")))[1].varbinds == [
        ("1.3.6.1.2.1.1.3.0", 2**32 - 1)
    ]
    assert read_v2c_message(answer_with(bytes.fromhex("41 04 ff ff ff ff")))[1].varbinds == [
        ("1.3.6.1.2.1.1.3.0", 2**32 - 1)
    ]
    with pytest.raises(BerError, match="too large"):
        read_v2c_message(answer_with(bytes.fromhex("41 05 01 00 00 00 00")))
    with pytest.raises(BerError, match="in 6 octets"):
        read_v2c_message(answer_with(bytes.fromhex("41 06 00 00 00 00 00 01")))
    with pytest.raises(BerError, match="with content"):
        read_v2c_message(answer_with(bytes.fromhex("82 01 00")))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "OBJECT IDENTIFIER of 0 octets"),
        (b"\x2b\x86", "ends inside a subidentifier"),
        (b"\x2b\x80\x01", "not in its fewest octets"),
        (b"\x2b" + b"\x01" * 200, "more than 128 subidentifiers"),
    ],
)
def test_a_malformed_object_identifier_is_refused(content: bytes, words: str) -> None:
    with pytest.raises(BerError, match=words):
        oid(content)


def test_an_object_identifier_reads_as_pyasn1_reads_it() -> None:
    for text in ("1.3.6.1.2.1.1.5.0", "0.39", "1.39", "2.40", "2.100.3", "1.3.6.1.4.1.2021.2.1"):
        content = bytes(encoder.encode(rfc1902.ObjectIdentifier(text)))[2:]
        assert oid(content) == text


def test_every_truncation_of_an_answer_is_refused() -> None:
    data = encoded([("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"web1")),
                    ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(99))])  # fmt: skip
    for size in range(len(data)):
        with pytest.raises(BerError):
            read_v2c_message(data[:size])
    with pytest.raises(BerError, match="octets after the message"):
        read_v2c_message(data + b"\x00")


def test_a_request_or_a_v3_message_is_not_a_v2c_answer() -> None:
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_pdu(message, pdu)
    with pytest.raises(BerError, match="neither a Response-PDU nor a Report-PDU"):
        read_v2c_message(bytes(encoder.encode(message)))
    v3 = bytes.fromhex("30 0b 02 01 03") + bytes(8)
    with pytest.raises(BerError, match="not 1"):
        read_v2c_message(v3)


def test_an_unknown_value_type_is_refused() -> None:
    data = encoded([("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"ab"))])
    at = data.index(b"\x04\x02ab")
    with pytest.raises(BerError, match="unknown type 0x09"):
        read_v2c_message(data[:at] + b"\x09" + data[at + 1 :])


def test_random_and_mutated_answers_raise_ber_error_only() -> None:
    chance = random.Random(20261204)
    valid = encoded([(f"1.3.6.1.2.1.{i}.0", value) for i, value in enumerate(EVERY_TYPE)])
    read = 0
    for _ in range(3000):
        mutated = bytearray(valid)
        for _ in range(chance.randint(1, 3)):
            mutated[chance.randrange(len(mutated))] = chance.randrange(256)
        for data in (bytes(mutated), chance.randbytes(chance.randint(0, 60))):
            try:
                read_v2c_message(data)
                read += 1
            except BerError:
                pass
    assert read > 100  # many mutations still read (values changed): the reader was exercised


# --- the dispatcher's v2c matching (a local UDP socket plays the agent, answering what the
# real snmpd never sends: another community) ------------------------------------------------


async def answered_with(community: str) -> Any:
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.bind(("127.0.0.1", 0))
    agent.setblocking(False)
    dispatcher = Dispatcher()
    await dispatcher.open(socket.AF_INET)
    host = Host(agent.getsockname(), socket.AF_INET, 0.3, 0, community=b"public")
    request = v2c.GetBulkRequestPDU()
    v2c.apiPDU.set_defaults(request)
    v2c.apiPDU.set_varbinds(request, [("1.3.6.1.2.1.1.5", None)])
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    dispatcher.send(host, request, done.set_result)
    data, client = await loop.sock_recvfrom(agent, 65535)
    asked = decoder.decode(data, asn1Spec=v2c.Message())[0]
    answer = v2c.apiPDU.get_request_id(v2c.apiMessage.get_pdu(asked))
    response = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(response)
    v2c.apiPDU.set_request_id(response, answer)
    v2c.apiPDU.set_varbinds(response, [("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"web1"))])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, response)
    await loop.sock_sendto(agent, bytes(encoder.encode(message)), client)
    try:
        return await done
    finally:
        dispatcher.close()
        agent.close()


def test_a_v2c_answer_is_read_when_its_community_is_the_requests() -> None:
    error, status, _, varbinds = asyncio.run(answered_with("public"))
    assert (error, status, varbinds) == (None, 0, [("1.3.6.1.2.1.1.5.0", b"web1")])


def test_a_v2c_answer_of_another_community_is_dropped_and_the_request_times_out() -> None:
    error, _, _, varbinds = asyncio.run(answered_with("other"))
    assert isinstance(error, errind.RequestTimedOut) and varbinds == ()
