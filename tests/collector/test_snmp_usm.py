"""snmp_ber and snmp_usm (the SNMPv3 frame and USM by hand) against pyasn1, pysnmp and net-snmp.

No network here: the references are pyasn1's BER codec with pysnmp's own ASN.1 specs of the
frame (`SNMPv3Message`, `UsmSecurityParameters`), pysnmp's USM services (key localisation
from the password, HMAC, ciphers) computed independently of `UsmUser`, and datagrams recorded
from a real net-snmp snmpd (tests/fixtures/snmp/usm_messages.json, see record_usm.py).
What is checked: what we write is what pyasn1 writes and pysnmp authenticates and decrypts;
what pysnmp writes we read, authenticate and decrypt; the reader refuses every malformed or
foreign frame with BerError (never another exception, never echoing the bytes); and
`Peer.timely` is RFC 3414 3.2 step 7b.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from time import monotonic
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.proto.api import v1, v2c
from pysnmp.proto.error import StatusInformation
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from pelihara.collector.credentials import Secret, SnmpCredentials
from pelihara.collector.probes.snmp_auth import usm_user
from pelihara.collector.probes.snmp_ber import MAX_INTEGER, BerError, integer
from pelihara.collector.probes.snmp_usm import (
    AUTH,
    AUTH_SERVICES,
    MAX_SIZE,
    PRIV,
    PRIV_SERVICES,
    REPORTABLE,
    TIME_WINDOW,
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

FIXTURES = Path(__file__).parent.parent / "fixtures" / "snmp"
SYS_NAME_OID = "1.3.6.1.2.1.1.5.0"
USM_STATS_UNKNOWN_ENGINE_IDS = "1.3.6.1.6.3.15.1.1.4.0"
ENGINE_ID = bytes.fromhex("80001f8804") + b"usm-unit"
BOUNDARIES = [0, 127, 128, 255, 256, MAX_INTEGER]
AUTH_NAMES = ["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PRIV_NAMES = ["AES", "AES192", "AES256", "AES192C", "AES256C", "DES", "3DES"]
USER_NAME = "usm-unit-user"


def user_for(
    auth: str = "SHA256", priv: str | None = "AES", name: str = USER_NAME, password: str = "pw"
) -> UsmUser:
    """A UsmUser as the probe makes it; its passwords are derived from NAME and PASSWORD."""
    creds = SnmpCredentials(
        name="unit", version="3", user=name, auth_protocol=auth,
        auth_key=Secret(f"auth-{password}-{name}"), priv_protocol=priv or "AES",
        priv_key=Secret(f"priv-{password}-{name}") if priv else None, allow_insecure=True,
    )  # fmt: skip
    return usm_user(creds)


def pysnmp_auth_key(user: UsmUser, password: str, engine_id: bytes) -> univ.OctetString:
    """USER's auth key localised to ENGINE_ID, by pysnmp alone from the password."""
    service = AUTH_SERVICES[user.auth]
    master = service.hash_passphrase(univ.OctetString(password.encode()))
    return univ.OctetString(service.localize_key(master, univ.OctetString(engine_id)))


def pysnmp_priv_key(user: UsmUser, password: str, engine_id: bytes) -> univ.OctetString:
    """USER's privacy key localised to ENGINE_ID, by pysnmp alone from the password."""
    service = PRIV_SERVICES[user.priv]
    master = service.hash_passphrase(user.auth, univ.OctetString(password.encode()))
    return univ.OctetString(service.localize_key(user.auth, master, univ.OctetString(engine_id)))


def get_pdu(request_id: int = 77, *oids: str) -> bytes:
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_varbinds(pdu, [(oid, v2c.null) for oid in oids])
    return bytes(encoder.encode(pdu))


def decoded_message(message: bytes) -> tuple[Any, Any]:
    """(SNMPv3Message, UsmSecurityParameters) of MESSAGE by pyasn1 with pysnmp's specs; both
    must re-encode to the very octets they came from."""
    frame, rest = decoder.decode(message, asn1Spec=SNMPv3Message())
    assert rest == b""
    assert bytes(encoder.encode(frame)) == message
    parameters = bytes(frame["msgSecurityParameters"])
    usm, rest = decoder.decode(parameters, asn1Spec=UsmSecurityParameters())
    assert rest == b""
    assert bytes(encoder.encode(usm)) == parameters
    return frame, usm


def pyasn1_message(
    flags: int, engine_id: bytes, boots: int, engine_time: int, user: bytes,
    digest_length: int, salt: bytes, scoped: bytes | None = None, encrypted: bytes | None = None,
    msg_id: int = 99,
) -> bytes:  # fmt: skip
    """A whole SNMPv3 message encoded by pyasn1, its digest a placeholder of zeros."""
    usm = UsmSecurityParameters()
    usm["msgAuthoritativeEngineId"] = engine_id
    usm["msgAuthoritativeEngineBoots"] = boots
    usm["msgAuthoritativeEngineTime"] = engine_time
    usm["msgUserName"] = user
    usm["msgAuthenticationParameters"] = bytes(digest_length)
    usm["msgPrivacyParameters"] = salt
    frame = SNMPv3Message()
    frame["msgVersion"] = 3
    header = frame["msgGlobalData"]
    header["msgID"] = msg_id
    header["msgMaxSize"] = MAX_SIZE
    header["msgFlags"] = bytes((flags,))
    header["msgSecurityModel"] = 3
    frame["msgSecurityParameters"] = encoder.encode(usm)
    if encrypted is not None:
        frame["msgData"]["encryptedPDU"] = encrypted
    else:
        frame["msgData"]["plaintext"] = decoder.decode(scoped, asn1Spec=ScopedPDU())[0]
    return bytes(encoder.encode(frame))


def peer_at(engine_id: bytes = ENGINE_ID, boots: int = 3, engine_time: int = 1000) -> Peer:
    return Peer(engine_id, boots, engine_time, engine_time, at=monotonic())


# --- 1. the BER writer is pyasn1's encoder ---------------------------------------------------


@pytest.mark.parametrize("value", BOUNDARIES)
def test_an_integer_is_encoded_as_pyasn1_encodes_it(value: int) -> None:
    assert integer(value) == bytes(encoder.encode(univ.Integer(value)))


@pytest.mark.parametrize("value", [-1, -128, MAX_INTEGER + 1, 2**40])
def test_an_integer_outside_the_frame_s_range_is_refused(value: int) -> None:
    with pytest.raises(BerError):
        integer(value)


@pytest.mark.parametrize("value", BOUNDARIES)
def test_a_discovery_message_decodes_with_pysnmp_s_specs_to_what_we_put_in(value: int) -> None:
    pdu = get_pdu(value)
    message = discovery(value, pdu)
    frame, usm = decoded_message(message)
    assert int(frame["msgVersion"]) == 3
    header = frame["msgGlobalData"]
    assert int(header["msgID"]) == value and int(header["msgMaxSize"]) == MAX_SIZE
    assert bytes(header["msgFlags"]) == bytes((REPORTABLE,))
    assert int(header["msgSecurityModel"]) == 3
    assert bytes(usm["msgAuthoritativeEngineId"]) == b"" and bytes(usm["msgUserName"]) == b""
    assert int(usm["msgAuthoritativeEngineBoots"]) == 0
    assert int(usm["msgAuthoritativeEngineTime"]) == 0
    assert bytes(usm["msgAuthenticationParameters"]) == b""
    assert bytes(usm["msgPrivacyParameters"]) == b""
    scoped = frame["msgData"]["plaintext"]
    assert bytes(scoped["contextEngineId"]) == b"" and bytes(scoped["contextName"]) == b""
    assert bytes(encoder.encode(scoped["data"].getComponent())) == pdu


@pytest.mark.parametrize("priv", ["AES", None], ids=["authPriv", "authNoPriv"])
@pytest.mark.parametrize("engine_id", [b"\x80\x00\x1f\x88\x04", bytes(range(1, 33))],
                         ids=["engine-id-5", "engine-id-32"])  # fmt: skip
@pytest.mark.parametrize("value", BOUNDARIES)
def test_a_request_decodes_with_pysnmp_s_specs_to_what_we_put_in(
    value: int, engine_id: bytes, priv: str | None
) -> None:
    user = user_for("SHA256", priv)
    # msgID, boots and time all at the boundary (time as the peer's clock estimates it now)
    peer = Peer(engine_id, value, value, value, at=monotonic())
    scoped = scoped_pdu(engine_id, get_pdu(5, SYS_NAME_OID))
    before = peer.now()
    message = request(value, user, peer, scoped)
    after = peer.now()
    frame, usm = decoded_message(message)
    header = frame["msgGlobalData"]
    assert int(header["msgID"]) == value and int(header["msgMaxSize"]) == MAX_SIZE
    assert bytes(header["msgFlags"]) == bytes((user.flags | REPORTABLE,))
    assert int(header["msgSecurityModel"]) == 3
    assert bytes(usm["msgAuthoritativeEngineId"]) == engine_id
    assert int(usm["msgAuthoritativeEngineBoots"]) == value
    assert before <= int(usm["msgAuthoritativeEngineTime"]) <= after
    assert bytes(usm["msgUserName"]) == USER_NAME.encode()
    assert len(bytes(usm["msgAuthenticationParameters"])) == 24  # HMAC-192-SHA-256
    if priv is None:
        assert bytes(usm["msgPrivacyParameters"]) == b""
        assert bytes(encoder.encode(frame["msgData"]["plaintext"])) == scoped
    else:
        assert len(bytes(usm["msgPrivacyParameters"])) == 8  # AES's salt
        assert len(bytes(frame["msgData"]["encryptedPDU"])) == len(scoped)  # CFB


# --- 2. the HMAC is pysnmp's ----------------------------------------------------------------


@pytest.mark.parametrize("auth", AUTH_NAMES)
def test_the_digest_of_a_request_is_accepted_by_pysnmp_s_usm(auth: str) -> None:
    user = user_for(auth, "AES")
    message = request(1234, user, peer_at(), scoped_pdu(ENGINE_ID, get_pdu(1, SYS_NAME_OID)))
    start, end = parse(message).auth_at
    digest = univ.OctetString(message[start:end])
    key = pysnmp_auth_key(user, f"auth-pw-{USER_NAME}", ENGINE_ID)
    service = AUTH_SERVICES[user.auth]
    assert service.authenticate_incoming_message(key, digest, message)
    # and pysnmp does refuse a digest that is not the message's
    altered = message[:start] + bytes(b ^ 0x01 for b in message[start:end]) + message[end:]
    with pytest.raises(StatusInformation):
        service.authenticate_incoming_message(key, univ.OctetString(altered[start:end]), altered)


def pysnmp_authenticated(
    user: UsmUser, password: str, scoped: bytes, engine_id: bytes = ENGINE_ID
) -> bytes:
    """An authNoPriv message of USER built by pyasn1 and authenticated by pysnmp."""
    length = user.digest.length
    zeroed = pyasn1_message(AUTH, engine_id, 7, 4321, user.name, length, b"", scoped=scoped)
    key = pysnmp_auth_key(user, password, engine_id)
    return bytes(AUTH_SERVICES[user.auth].authenticate_outgoing_message(key, zeroed))


@pytest.mark.parametrize("auth", AUTH_NAMES)
def test_a_message_pysnmp_authenticated_is_authentic_and_not_with_another_user_s_key(
    auth: str,
) -> None:
    user = user_for(auth, None)
    scoped = scoped_pdu(ENGINE_ID, get_pdu(1, SYS_NAME_OID))
    message = pysnmp_authenticated(user, f"auth-pw-{USER_NAME}", scoped)
    incoming = parse(message)
    assert (incoming.engine_id, incoming.boots, incoming.time) == (ENGINE_ID, 7, 4321)
    assert authentic(incoming, user, user.keys(ENGINE_ID))
    other = user_for(auth, None, password="other")
    assert not authentic(incoming, user, other.keys(ENGINE_ID))
    assert not authentic(incoming, user, user.keys(ENGINE_ID[:-1] + b"X"))  # another agent's


@pytest.mark.parametrize("auth", ["MD5", "SHA", "SHA512"])
def test_a_message_with_any_bit_flipped_is_not_authentic(auth: str) -> None:
    user = user_for(auth, None)
    message = pysnmp_authenticated(user, f"auth-pw-{USER_NAME}", scoped_pdu(ENGINE_ID, get_pdu()))
    keys = user.keys(ENGINE_ID)
    assert authentic(parse(message), user, keys)
    parsed = 0
    for position in range(len(message)):
        for bit in (0x01, 0x80):
            flipped = bytearray(message)
            flipped[position] ^= bit
            try:
                incoming = parse(bytes(flipped))
            except BerError:
                continue
            parsed += 1
            assert not authentic(incoming, user, keys), (position, bit)
    assert parsed > len(message)  # most flips still parse: the HMAC is what refuses them


# --- 3. privacy round trips with pysnmp -----------------------------------------------------


@pytest.mark.parametrize("priv", PRIV_NAMES)
def test_the_encrypted_pdu_of_a_request_decrypts_with_pysnmp_to_the_scoped_pdu(priv: str) -> None:
    user = user_for("SHA", priv)
    scoped = scoped_pdu(ENGINE_ID, get_pdu(9, SYS_NAME_OID, "1.3.6.1.2.1.1.1.0"))
    message = request(4321, user, peer_at(boots=11, engine_time=222), scoped)
    incoming = parse(message)
    frame, usm = decoded_message(message)
    assert bytes(frame["msgData"]["encryptedPDU"]) == incoming.data
    key = pysnmp_priv_key(user, f"priv-pw-{USER_NAME}", ENGINE_ID)
    parameters = (incoming.boots, incoming.time, usm["msgPrivacyParameters"])
    decrypted = bytes(
        PRIV_SERVICES[user.priv].decrypt_data(key, parameters, univ.OctetString(incoming.data))
    )
    assert decrypted[: len(scoped)] == scoped  # DES and 3DES pad to their block
    assert len(decrypted) - len(scoped) < 8


def pysnmp_encrypted(
    user: UsmUser, scoped: bytes, boots: int = 11, engine_time: int = 222
) -> bytes:
    """An authPriv message of USER: SCOPED encrypted and the whole authenticated by pysnmp."""
    key = pysnmp_priv_key(user, f"priv-pw-{USER_NAME}", ENGINE_ID)
    cipher, salt = PRIV_SERVICES[user.priv].encrypt_data(key, (boots, engine_time, None), scoped)
    zeroed = pyasn1_message(
        AUTH | PRIV, ENGINE_ID, boots, engine_time, user.name, user.digest.length,
        bytes(salt), encrypted=bytes(cipher),
    )  # fmt: skip
    auth_key = pysnmp_auth_key(user, f"auth-pw-{USER_NAME}", ENGINE_ID)
    return bytes(AUTH_SERVICES[user.auth].authenticate_outgoing_message(auth_key, zeroed))


@pytest.mark.parametrize("priv", PRIV_NAMES)
def test_what_pysnmp_encrypted_is_authentic_and_decrypts_to_the_scoped_pdu(priv: str) -> None:
    user = user_for("SHA", priv)
    pdu = get_pdu(9, SYS_NAME_OID)
    scoped = scoped_pdu(ENGINE_ID, pdu)
    incoming = parse(pysnmp_encrypted(user, scoped))
    assert incoming.flags == AUTH | PRIV
    keys = user.keys(ENGINE_ID)
    assert authentic(incoming, user, keys)
    data = plaintext(incoming, user, keys)
    assert data[: len(scoped)] == scoped
    assert read_scoped_pdu(data) == (ENGINE_ID, b"", pdu)


@pytest.mark.parametrize("priv", PRIV_NAMES)
def test_with_a_wrong_privacy_key_the_scoped_pdu_is_never_the_original(priv: str) -> None:
    user = user_for("SHA", priv)
    pdu = get_pdu(9, SYS_NAME_OID)
    incoming = parse(pysnmp_encrypted(user, scoped_pdu(ENGINE_ID, pdu)))
    wrong = user_for("SHA", priv, password="other").keys(ENGINE_ID)
    try:
        read = read_scoped_pdu(plaintext(incoming, user, wrong))
    except BerError:
        return
    assert read != (ENGINE_ID, b"", pdu)


def test_an_encrypted_message_for_a_user_without_privacy_is_refused() -> None:
    incoming = parse(pysnmp_encrypted(user_for("SHA", "AES"), scoped_pdu(ENGINE_ID, get_pdu())))
    plain_user = user_for("SHA", None)
    with pytest.raises(BerError):
        plaintext(incoming, plain_user, plain_user.keys(ENGINE_ID))


# --- 4. the reader is strict and never crashes ----------------------------------------------


def tlv(tag: int, content: bytes, form: str = "definite") -> bytes:
    """An element with its length in FORM: definite (fewest octets), indefinite (0x80 and
    end-of-contents), long5 (five length octets) or overlong (one more than its content)."""
    if form == "indefinite":
        return bytes((tag, 0x80)) + content + b"\x00\x00"
    if form == "overlong":  # one octet more than there is
        return bytes((tag, len(content) + 1)) + content
    if form == "long5":
        return bytes((tag, 0x85)) + len(content).to_bytes(5, "big") + content
    if len(content) < 0x80:
        return bytes((tag, len(content))) + content
    size = (len(content).bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + len(content).to_bytes(size, "big") + content


def frame(
    tags: dict[str, int] | None = None, forms: dict[str, str] | None = None, **fields: Any
) -> bytes:
    """An authNoPriv SNMPv3 message built element by element (independently of snmp_ber),
    each element's tag or length form replaceable by name, each field by keyword."""
    tags, forms = tags or {}, forms or {}
    value: dict[str, Any] = {
        "version": 3, "msg_id": 5, "max_size": MAX_SIZE, "flags": bytes((AUTH | REPORTABLE,)),
        "model": 3, "engine_id": ENGINE_ID, "boots": 2, "time": 300, "user": b"usm-user",
        "auth": bytes(12), "salt": b"", "data": scoped_pdu(ENGINE_ID, get_pdu()),
        "header_extra": b"", "usm_extra": b"", "after_usm": b"", "after_data": b"",
    }  # fmt: skip
    value.update(fields)

    def el(name: str, tag: int, content: bytes) -> bytes:
        return tlv(tags.get(name, tag), content, forms.get(name, "definite"))

    def num(name: str, number: int | bytes) -> bytes:
        content = number if isinstance(number, bytes) else bytes(encoder.encode(
            univ.Integer(number)))[2:]  # fmt: skip
        return el(name, 0x02, content)

    parameters = el("UsmSecurityParameters", 0x30, b"".join([
        el("msgAuthoritativeEngineID", 0x04, value["engine_id"]),
        num("msgAuthoritativeEngineBoots", value["boots"]),
        num("msgAuthoritativeEngineTime", value["time"]),
        el("msgUserName", 0x04, value["user"]),
        el("msgAuthenticationParameters", 0x04, value["auth"]),
        el("msgPrivacyParameters", 0x04, value["salt"]), value["usm_extra"],
    ])) + value["after_usm"]  # fmt: skip
    global_data = el("msgGlobalData", 0x30, b"".join([
        num("msgID", value["msg_id"]), num("msgMaxSize", value["max_size"]),
        el("msgFlags", 0x04, value["flags"]), num("msgSecurityModel", value["model"]),
        value["header_extra"],
    ]))  # fmt: skip
    data = value["data"]
    if "ScopedPDU" in tags or "ScopedPDU" in forms:
        assert data[1] < 0x80  # a short ScopedPDU: its content from the third octet
        data = el("ScopedPDU", 0x30, data[2:])
    body = num("msgVersion", value["version"]) + global_data
    body += el("msgSecurityParameters", 0x04, parameters) + data + value["after_data"]
    return el("SNMPv3Message", 0x30, body)


WRONG_TAGS = {0x04: (0x02, 0x30, 0x24), 0x02: (0x04, 0x0A, 0x22), 0x30: (0x31, 0x04, 0xA0)}
ELEMENTS = {
    "SNMPv3Message": 0x30, "msgVersion": 0x02, "msgGlobalData": 0x30, "msgID": 0x02,
    "msgMaxSize": 0x02, "msgFlags": 0x04, "msgSecurityModel": 0x02,
    "msgSecurityParameters": 0x04, "UsmSecurityParameters": 0x30,
    "msgAuthoritativeEngineID": 0x04, "msgAuthoritativeEngineBoots": 0x02,
    "msgAuthoritativeEngineTime": 0x02, "msgUserName": 0x04,
    "msgAuthenticationParameters": 0x04, "msgPrivacyParameters": 0x04, "ScopedPDU": 0x30,
}  # fmt: skip


def refused(message: bytes) -> BerError:
    """The BerError parse() raises for MESSAGE; it must not hold the message's octets."""
    with pytest.raises(BerError) as caught:
        parse(message)
    quiet(caught.value, message)
    return caught.value


def test_the_test_frame_is_a_valid_message_as_pyasn1_reads_it() -> None:
    message = frame()
    decoded_message(message)
    incoming = parse(message)
    assert (incoming.msg_id, incoming.engine_id, incoming.boots, incoming.time) == (
        5, ENGINE_ID, 2, 300,
    )  # fmt: skip
    assert incoming.user == b"usm-user" and incoming.data == scoped_pdu(ENGINE_ID, get_pdu())


def valid_messages() -> list[bytes]:
    user = user_for("SHA", "AES", name="usm-user")
    scoped = scoped_pdu(ENGINE_ID, get_pdu(3, SYS_NAME_OID))
    return [frame(), request(77, user, peer_at(), scoped), discovery(78, get_pdu(4))]


def test_every_truncation_of_a_valid_message_is_refused() -> None:
    for message in valid_messages():
        parse(message)
        for length in range(len(message)):
            refused(message[:length])


def test_an_octet_after_a_valid_message_is_refused() -> None:
    for message in valid_messages():
        for extra in (b"\x00", b"\x30", b"\xff"):
            refused(message + extra)


@pytest.mark.parametrize("name", ELEMENTS)
def test_an_indefinite_or_five_octet_length_is_refused_at_every_element(name: str) -> None:
    assert f"{name}: length in 0 octets" in str(refused(frame(forms={name: "indefinite"})))
    assert f"{name}: length in 5 octets" in str(refused(frame(forms={name: "long5"})))


@pytest.mark.parametrize("name", ["SNMPv3Message", "msgSecurityModel", "ScopedPDU",
                                  "UsmSecurityParameters", "msgPrivacyParameters"])  # fmt: skip
def test_an_element_longer_than_what_holds_it_is_refused(name: str) -> None:
    assert f"{name}: " in str(refused(frame(forms={name: "overlong"})))
    assert "past the end" in str(refused(frame(forms={name: "overlong"})))


@pytest.mark.parametrize("name", ELEMENTS)
def test_a_wrong_tag_at_every_element_is_refused(name: str) -> None:
    for wrong in WRONG_TAGS[ELEMENTS[name]]:
        assert f"{name}: tag 0x{wrong:02x}" in str(refused(frame(tags={name: wrong})))


def test_version_1_and_2c_messages_encoded_by_pysnmp_are_refused() -> None:
    for api in (v1, v2c):
        message = api.Message()
        api.apiMessage.set_defaults(message)
        api.apiMessage.set_community(message, "public")
        pdu = api.GetRequestPDU()
        api.apiPDU.set_defaults(pdu)
        api.apiPDU.set_varbinds(pdu, [(SYS_NAME_OID, api.Null(""))])
        api.apiMessage.set_pdu(message, pdu)
        assert "not 3" in str(refused(bytes(encoder.encode(message))))


ENCRYPTED = tlv(0x04, bytes(range(40)))  # an encryptedPDU's place in the frame
OUTSIDE = [  # (fields, what the refusal says)
    ({"version": 2}, "msgVersion 2, not 3"),
    ({"version": 0}, "msgVersion 0, not 3"),
    ({"model": 2}, "msgSecurityModel 2, not USM"),
    ({"model": 1}, "not USM"),
    ({"model": 0}, "msgSecurityModel: 0 outside"),
    ({"flags": bytes((PRIV,)), "data": ENCRYPTED}, "privacy without authentication"),
    ({"flags": bytes((PRIV | REPORTABLE,)), "data": ENCRYPTED}, "privacy without authentication"),
    ({"flags": b""}, "not the four fields"),
    ({"flags": b"\x05\x00"}, "msgFlags: 2 octets"),
    ({"user": b"u" * 33}, "msgUserName: 33 octets"),
    ({"engine_id": b"e" * 33}, "msgAuthoritativeEngineID: 33 octets"),
    ({"msg_id": bytes(5) + b"\x01"}, "msgID: INTEGER of 6 octets"),
    ({"boots": bytes(5) + b"\x01"}, "msgAuthoritativeEngineBoots: INTEGER of 6 octets"),
    ({"time": b"\x00\x80\x00\x00\x00\x00"}, "msgAuthoritativeEngineTime: INTEGER of 6"),
    ({"msg_id": b""}, "msgID: INTEGER of 0 octets"),
    ({"boots": -1}, "msgAuthoritativeEngineBoots: -1 outside"),
    ({"boots": b"\x80"}, "msgAuthoritativeEngineBoots: -128 outside"),
    ({"time": -1}, "msgAuthoritativeEngineTime: -1 outside"),
    ({"msg_id": -1}, "msgID: -1"),
    ({"msg_id": 2**31}, "msgID: 2147483648 outside"),
    ({"time": 2**32}, "msgAuthoritativeEngineTime: 4294967296 outside"),
    ({"max_size": 483}, "msgMaxSize: 483 outside"),
    ({"salt": b"s" * 33}, "msgPrivacyParameters: 33 octets"),
    ({"auth": bytes(65)}, "msgAuthenticationParameters: 65 octets"),
    ({"header_extra": tlv(0x02, b"\x01")}, "msgGlobalData: not the four fields"),
    ({"usm_extra": tlv(0x04, b"")}, "UsmSecurityParameters: more than six fields"),
    ({"after_usm": tlv(0x04, b"")}, "msgSecurityParameters: octets after"),
    ({"after_data": tlv(0x04, b"")}, "SNMPv3Message: octets after msgData"),
    ({"after_data": scoped_pdu(ENGINE_ID, get_pdu())}, "SNMPv3Message: octets after msgData"),
]


@pytest.mark.parametrize(("fields", "words"), OUTSIDE, ids=[words for _, words in OUTSIDE])
def test_a_field_outside_what_rfc_3412_and_3414_allow_is_refused(
    fields: dict[str, Any], words: str
) -> None:
    assert words in str(refused(frame(**fields)))


def test_a_message_of_pysnmp_s_encoding_with_privacy_but_no_authentication_is_refused() -> None:
    message = pyasn1_message(PRIV, ENGINE_ID, 1, 1, b"usm-user", 12, bytes(8), encrypted=bytes(32))
    decoded_message(message)
    assert "privacy without authentication" in str(refused(message))


def test_the_largest_fields_rfc_3414_allows_are_read() -> None:
    incoming = parse(frame(user=b"u" * 32, engine_id=b"e" * 32, boots=MAX_INTEGER, time=0))
    assert incoming.user == b"u" * 32 and incoming.engine_id == b"e" * 32
    assert incoming.boots == MAX_INTEGER and incoming.time == 0


def quiet(error: BerError, data: bytes) -> None:
    """ERROR's text holds none of DATA's octets (nor those of the test's user and engine)."""
    text = str(error)
    assert "\\x" not in text and "b'" not in text and 'b"' not in text, text
    assert ENGINE_ID.hex() not in text and "usm-user" not in text, text
    assert len(data) < 8 or data.hex()[:16] not in text, text


def outcome(data: bytes, user: UsmUser) -> Incoming | None:
    """parse() of DATA (None if it raised BerError) and, if it parsed, USER's checks of it:
    anything but BerError propagates and fails the test."""
    try:
        incoming = parse(data)
    except BerError as exc:
        quiet(exc, data)
        return None
    keys = user.keys(incoming.engine_id) if incoming.engine_id else user.keys(ENGINE_ID)
    authentic(incoming, user, keys)
    try:
        read_scoped_pdu(plaintext(incoming, user, keys))
    except BerError as exc:
        quiet(exc, data)
    return incoming


def test_random_bytes_are_refused_with_ber_error_only() -> None:
    rng = random.Random(15)  # a fuzz seed
    user = user_for("SHA", "AES", name="usm-user")
    template = valid_messages()[1]
    for _ in range(3000):
        size = rng.randrange(0, 160)
        data = rng.randbytes(size)
        if rng.random() < 0.5:  # often a plausible start, to get past the first checks
            data = template[: rng.randrange(0, len(template))] + data
        outcome(data, user)


@pytest.mark.parametrize("priv", PRIV_NAMES)
def test_single_byte_mutations_parse_or_are_refused_and_are_never_authentic(priv: str) -> None:
    rng = random.Random(3414)  # a fuzz seed
    user = user_for("SHA", priv, name="usm-user")
    message = request(77, user, peer_at(), scoped_pdu(ENGINE_ID, get_pdu(3, SYS_NAME_OID)))
    keys = user.keys(ENGINE_ID)
    assert authentic(parse(message), user, keys)
    parsed = 0
    for _ in range(1000):
        mutated = bytearray(message)
        position = rng.randrange(len(message))
        mutated[position] = (mutated[position] + rng.randrange(1, 256)) % 256
        incoming = outcome(bytes(mutated), user)
        if incoming is not None:
            parsed += 1
            assert not authentic(incoming, user, keys), position
    assert parsed > 100  # the mutations got past the frame, to the HMAC and the cipher


# --- 5. datagrams recorded from net-snmp ----------------------------------------------------


def recording() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (FIXTURES / "usm_messages.json").read_text(encoding="utf-8")
    )
    return document


def recorded_user(document: dict[str, Any], password_suffix: str = "") -> UsmUser:
    creds = SnmpCredentials(
        name="recorded", version="3", user=document["user"],
        auth_protocol=document["auth_protocol"],
        auth_key=Secret(document["auth_password"] + password_suffix),
        priv_protocol=document["priv_protocol"], priv_key=Secret(document["priv_password"]),
    )  # fmt: skip
    return usm_user(creds)


def test_the_recording_says_where_it_came_from() -> None:
    document = recording()
    assert "snmpd" in document["source"] and "record_usm" in document["source"]
    assert "tests.fixtures.snmp.record_usm" in (FIXTURES / "README.md").read_text("utf-8")


def test_net_snmp_s_discovery_report_is_read() -> None:
    document = recording()
    report = bytes.fromhex(document["report"])
    decoded_message(report)
    incoming = parse(report)
    assert incoming.msg_id == document["msg_ids"][0]
    assert incoming.engine_id == bytes.fromhex(document["engine_id"])
    assert incoming.engine_id == bytes.fromhex("80001f8804") + b"pelihara-usm"
    assert (incoming.boots, incoming.time) == (1, 0)
    assert incoming.user == b"" and incoming.authentic_flags == 0
    _, _, encoded = read_scoped_pdu(incoming.data)
    pdu, rest = decoder.decode(encoded, asn1Spec=v2c.ReportPDU())
    assert rest == b""
    assert int(v2c.apiPDU.get_request_id(pdu)) == document["request_ids"][0]
    assert [str(oid) for oid, _ in v2c.apiPDU.get_varbinds(pdu)] == [USM_STATS_UNKNOWN_ENGINE_IDS]


def test_net_snmp_s_auth_priv_response_is_authentic_and_decrypts_to_the_sys_name() -> None:
    document = recording()
    response = bytes.fromhex(document["response"])
    engine_id = bytes.fromhex(document["engine_id"])
    decoded_message(response)
    incoming = parse(response)
    assert incoming.msg_id == document["msg_ids"][1]
    assert incoming.flags & (AUTH | PRIV) == AUTH | PRIV
    assert (incoming.engine_id, incoming.boots, incoming.time) == (engine_id, 1, 0)
    assert incoming.user == document["user"].encode()
    user = recorded_user(document)
    keys = user.keys(engine_id)
    assert authentic(incoming, user, keys)
    assert not authentic(incoming, user, recorded_user(document, "x").keys(engine_id))
    context, name, encoded = read_scoped_pdu(plaintext(incoming, user, keys))
    assert (context, name) == (engine_id, b"")
    pdu, rest = decoder.decode(encoded, asn1Spec=v2c.ResponsePDU())
    assert rest == b""
    assert int(v2c.apiPDU.get_request_id(pdu)) == document["request_ids"][1]
    assert int(v2c.apiPDU.get_error_status(pdu)) == 0
    varbinds = [(str(oid), bytes(value)) for oid, value in v2c.apiPDU.get_varbinds(pdu)]
    assert varbinds == [(document["sys_name_oid"], document["sys_name"].encode())]


def test_the_request_net_snmp_answered_is_read_and_authentic() -> None:
    document = recording()
    engine_id = bytes.fromhex(document["engine_id"])
    incoming = parse(bytes.fromhex(document["request"]))
    user = recorded_user(document)
    assert authentic(incoming, user, user.keys(engine_id))
    _, _, encoded = read_scoped_pdu(plaintext(incoming, user, user.keys(engine_id)))
    pdu, _ = decoder.decode(encoded, asn1Spec=v2c.GetRequestPDU())
    assert [str(oid) for oid, _ in v2c.apiPDU.get_varbinds(pdu)] == [document["sys_name_oid"]]


# --- 6. Peer.timely: RFC 3414 3.2 step 7b ---------------------------------------------------


def peer(boots: int = 5, engine_time: int = 1000, ago: float = 0.0) -> Peer:
    """An agent last heard of in an authentic message at ENGINE_TIME, AGO seconds ago (the
    clock placed, not slept)."""
    return Peer(ENGINE_ID, boots, engine_time, engine_time, at=monotonic() - ago, authentic=True)


def test_a_clock_from_discovery_is_set_by_the_first_authentic_message_whatever_it_says() -> None:
    # discovery's report is unauthenticated: anyone could have sent it. Its clock is what a
    # request is sent with, not a bound on the agent's (as net-snmp keeps it): an agent whose
    # boots went down (its persistent state lost, its engine ID configured) is still read.
    agent = Peer(ENGINE_ID, 9, 5000, 5000, at=monotonic())
    assert agent.timely(2, 30)
    assert (agent.boots, agent.time, agent.latest, agent.authentic) == (2, 30, 30, True)
    assert not agent.timely(1, 30)  # now it binds


def test_a_later_boots_is_timely_and_updates_the_clock() -> None:
    agent = peer(ago=5000)
    assert agent.timely(6, 10)
    assert (agent.boots, agent.time, agent.latest) == (6, 10, 10)
    assert agent.now() < 10 + TIME_WINDOW


def test_the_same_boots_and_a_later_time_is_timely_and_updates_latest() -> None:
    agent = peer(ago=20)
    assert agent.timely(5, 1100)
    assert (agent.boots, agent.time, agent.latest) == (5, 1100, 1100)


def test_the_same_boots_and_a_time_within_the_window_is_timely_and_changes_nothing() -> None:
    agent = peer(ago=100)  # the estimate is ~1100
    assert agent.timely(5, 1000) and agent.timely(5, 990)
    assert (agent.boots, agent.time, agent.latest) == (5, 1000, 1000)


def test_an_earlier_boots_is_refused_and_changes_nothing() -> None:
    agent = peer()
    assert not agent.timely(4, 5000)
    assert (agent.boots, agent.time, agent.latest) == (5, 1000, 1000)


def test_the_same_boots_and_a_time_more_than_150_s_behind_the_estimate_is_refused() -> None:
    agent = peer(ago=1000)  # the estimate is ~2000; latest 1000
    assert not agent.timely(5, 1000)
    assert not agent.timely(5, 900)
    assert (agent.boots, agent.time, agent.latest) == (5, 1000, 1000)
    assert not peer(ago=TIME_WINDOW + 10).timely(5, 1000)


def test_boots_at_its_maximum_is_refused() -> None:
    assert not peer().timely(MAX_INTEGER, 5)
    assert not peer(boots=MAX_INTEGER).timely(MAX_INTEGER, 2000)


def test_the_estimate_never_passes_the_largest_integer() -> None:
    agent = peer(engine_time=MAX_INTEGER - 10, ago=1000)
    assert agent.now() == MAX_INTEGER
    message = request(1, user_for(), agent, scoped_pdu(ENGINE_ID, get_pdu()))
    assert parse(message).time == MAX_INTEGER  # and a request at that clock still encodes
