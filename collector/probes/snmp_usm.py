"""SNMPv3 messages with the User-based Security Model, as a command generator sends and reads
them (RFC 3412 6 and 7.2, RFC 3414 2-4, RFC 7860 for SHA-2).

Why not pysnmp's engine: it works, but for every message it decodes the frame and the
security parameters with pyasn1, encodes the message twice and walks its MIB-backed state;
over 100 agents that made v3 cost ~1.6x v2c's CPU a host (bench/snmp_cpu.py). Here the
frame is read and written by hand (`snmp_ber`), and what stays pysnmp's is what is hard to
get right: the key localisation and the ciphers (its USM's own services, so every protocol
behaves as in pysnmp: AES-128, draft-blumenthal and Reeder AES-192/256, DES, 3DES) and the
PDU inside (pyasn1). The HMAC is RFC 2104's (`hmac`), checked in constant time at the
digest's known place. Everything is tested side by side with net-snmp
(tests/collector/test_snmp_v3.py).

What a message must satisfy to be read (else it is dropped, as RFC 3412 7.2 says):
well-formed BER, version 3, USM, valid flags; authenticated if our request was, by our
user's key localised to the agent's engine ID, and inside the agent's time window (RFC 3414
3.2 step 7b); decrypted with the same keys. Only a report may come unauthenticated, and it
then ends a request with its error (wrong digest, unknown user...) and changes no state;
the one exception is discovery's report, which gives the agent's engine ID and clock
(RFC 3414 4, as net-snmp and pysnmp take them).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any, NamedTuple

from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.proto.error import StatusInformation
from pysnmp.proto.secmod.rfc3414.auth.hmacmd5 import HmacMd5
from pysnmp.proto.secmod.rfc3414.auth.hmacsha import HmacSha
from pysnmp.proto.secmod.rfc3414.service import SnmpUSMSecurityModel
from pysnmp.proto.secmod.rfc3826.priv.aes import Aes
from pysnmp.proto.secmod.rfc7860.auth.hmacsha2 import HmacSha2

from pelihara.collector.probes.snmp_ber import (
    MAX_INTEGER,
    SEQUENCE,
    BerError,
    element,
    header,
    integer,
    octets,
    read_integer,
    read_octets,
    sequence,
)

VERSION = 3
USM = 3  # msgSecurityModel
MAX_SIZE = 65507  # msgMaxSize: the largest UDP payload over IPv4, as net-snmp sends
AUTH, PRIV, REPORTABLE = 0x01, 0x02, 0x04  # msgFlags
TIME_WINDOW = 150  # seconds (RFC 3414 2.2.3)
ENGINE_ID_SIZES = range(5, 33)  # SnmpEngineID (RFC 3411 5)
MOST_OCTETS = 32  # msgUserName, the engine ID, contextName: SIZE(0..32)
AUTH_SERVICES: dict[Any, Any] = SnmpUSMSecurityModel.AUTH_SERVICES
PRIV_SERVICES: dict[Any, Any] = SnmpUSMSecurityModel.PRIV_SERVICES
# AES-CFB (RFC 3826) is done here with `cryptography`, as pysnmp's own services do it but
# without their per-message pyasn1 objects (~17 -> ~5 us a message); every AES variant
# pysnmp offers (128, and 192/256 with Blumenthal's or Reeder's key extension) by its key
# size. The localisation of their keys stays pysnmp's.
AES_KEY_SIZES: dict[Any, int] = {
    service_id: service.KEY_SIZE
    for service_id, service in PRIV_SERVICES.items()
    if isinstance(service, Aes)
}
SALT_SIZE = 8
AES_128 = 16  # octets of its key
_SALTS = (n & (1 << 64) - 1 for n in itertools.count(secrets.randbits(64)))  # RFC 3826 3.1.2.1


@dataclass(frozen=True)
class Digest:
    """An auth protocol's HMAC: its hash and how many octets of it a message carries."""

    hash: Callable[..., Any]
    length: int

    def mac(self, key: bytes, message: bytes) -> bytes:
        return hmac.digest(key, message, self.hash)[: self.length]  # OpenSSL's one-shot HMAC


class LocalKeys(NamedTuple):
    """A user's keys localised to one agent's engine ID (RFC 3414 2.6)."""

    auth: bytes
    priv: bytes | None  # None without privacy


@dataclass
class UsmUser:
    """One credential's v3 user: its name, protocols and master keys (Ku, RFC 3414 A.2)."""

    name: bytes
    auth: Any  # pysnmp's auth protocol id (an OID tuple)
    digest: Digest
    auth_key: bytes
    priv: Any | None  # pysnmp's privacy protocol id; None: authNoPriv
    priv_key: bytes | None
    _local: dict[bytes, LocalKeys] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never the keys
        return f"UsmUser({self.name!r})"

    @property
    def flags(self) -> int:
        return AUTH | (PRIV if self.priv is not None else 0)

    def keys(self, engine_id: bytes) -> LocalKeys:
        """The keys localised to ENGINE_ID (RFC 3414 A.2.2: H(Ku, engine ID, Ku)), once an
        agent; a privacy key longer than the hash (AES-192/256, 3-DES: Blumenthal's or
        Reeder's extension) by pysnmp's services."""
        found = self._local.get(engine_id)
        if found is None:
            auth = localised(self.auth_key, engine_id, self.digest.hash)
            priv = None
            if self.priv is not None and self.priv_key is not None:
                priv = self._localised_priv(self.priv_key, engine_id)
            found = self._local[engine_id] = LocalKeys(auth, priv)
        return found

    def _localised_priv(self, master: bytes, engine_id: bytes) -> bytes:
        if AES_KEY_SIZES.get(self.priv) == AES_128:  # AES-128: the hash's first 16 octets
            return localised(master, engine_id, self.digest.hash)[:AES_128]
        service = PRIV_SERVICES[self.priv]
        agent = univ.OctetString(engine_id)
        return bytes(service.localize_key(self.auth, univ.OctetString(master), agent))


def localised(master: bytes, engine_id: bytes, hash_function: Callable[..., Any]) -> bytes:
    """RFC 3414 A.2.2: a master key localised to an engine ID."""
    return bytes(hash_function(master + engine_id + master).digest())


@dataclass
class Peer:
    """What is known of an agent's engine: its ID and clock (RFC 3414 2.3).

    A clock from discovery's unauthenticated report is an estimate to send with, not a
    bound: the first authentic message sets it, whatever it says (net-snmp keeps such a
    clock as "not authenticated" and checks nothing against it either)."""

    engine_id: bytes
    boots: int
    time: int
    latest: int  # latestReceivedEngineTime
    at: float = field(default_factory=monotonic)  # when `time` was received
    authentic: bool = False  # the clock came in an authenticated message

    def now(self) -> int:
        """The agent's snmpEngineTime as estimated here."""
        return min(MAX_INTEGER, self.time + int(monotonic() - self.at))

    def timely(self, boots: int, engine_time: int) -> bool:
        """RFC 3414 3.2 step 7b for an authentic message: update the clock, then say whether
        the message is inside the time window."""
        later = boots > self.boots or (boots == self.boots and engine_time > self.latest)
        if later or not self.authentic:
            self.boots, self.time, self.latest = boots, engine_time, engine_time
            self.at, self.authentic = monotonic(), True
        return not (
            self.boots == MAX_INTEGER
            or boots < self.boots
            or (boots == self.boots and self.now() > engine_time + TIME_WINDOW)
        )


@dataclass(frozen=True)
class Incoming:
    """An SNMPv3 message as read from a datagram: the frame's fields, nothing checked but
    its form."""

    message: bytes
    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_at: tuple[int, int]  # where msgAuthenticationParameters' octets are in `message`
    salt: bytes  # msgPrivacyParameters
    data: bytes  # the plaintext ScopedPDU's encoding, or the encrypted one's octets

    @property
    def authentic_flags(self) -> int:
        return self.flags & (AUTH | PRIV)


def scoped_pdu(context_engine_id: bytes, pdu: bytes) -> bytes:
    """A ScopedPDU (RFC 3412 6) of the default context around an encoded PDU."""
    return sequence(octets(context_engine_id), octets(b""), pdu)


def discovery(msg_id: int, pdu: bytes) -> bytes:
    """RFC 3414 4's discovery request: no user, no engine ID, no security, reportable."""
    return _framed(msg_id, REPORTABLE, b"", 0, 0, b"", None, b"", pdu and scoped_pdu(b"", pdu))


def request(msg_id: int, user: UsmUser, peer: Peer, scoped: bytes) -> bytes:
    """SCOPED sent to PEER as USER: encrypted if the user has privacy, then authenticated."""
    boots, engine_time = peer.boots, peer.now()
    keys = user.keys(peer.engine_id)
    data, salt = scoped, b""
    if user.priv is not None and keys.priv is not None:
        cipher, salt = _encrypted(user.priv, keys.priv, boots, engine_time, scoped)
        data = octets(cipher)
    return _framed(msg_id, user.flags | REPORTABLE, peer.engine_id, boots, engine_time,
                   user.name, (user.digest, keys.auth), salt, data)  # fmt: skip


_VERSION = integer(VERSION)
# msgMaxSize, msgFlags and msgSecurityModel: the same in every message but for the flags
_MAX_SIZE_USM = {
    flags: integer(MAX_SIZE) + octets(bytes((flags,))) + integer(USM) for flags in range(8)
}


def _framed(
    msg_id: int, flags: int, engine_id: bytes, boots: int, engine_time: int, user: bytes,
    auth: tuple[Digest, bytes] | None, salt: bytes, data: bytes,
) -> bytes:  # fmt: skip
    """The whole message; with AUTH, its HMAC computed over it with the digest zeroed and
    then put in its place (RFC 3414 6.3.1, 7.3.1)."""
    length = auth[0].length if auth else 0
    global_data = sequence(integer(msg_id), _MAX_SIZE_USM[flags])
    before_digest = octets(engine_id) + integer(boots) + integer(engine_time) + octets(user)
    digest = octets(bytes(length))
    parameters = sequence(before_digest, digest, octets(salt))
    body = _VERSION + global_data + octets(parameters) + data
    message = header(SEQUENCE, len(body)) + body
    if auth is None:
        return message
    at = len(message) - len(data) - len(octets(salt)) - length  # the digest's octets
    mac = auth[0].mac(auth[1], message)
    return message[:at] + mac + message[at + length :]


def parse(message: bytes) -> Incoming:
    """A datagram as an SNMPv3 message with USM parameters; BerError if it is not one."""
    start, end = element(message, 0, len(message), SEQUENCE, "SNMPv3Message")
    if end != len(message):
        raise BerError("SNMPv3Message: octets after the message")
    version, pos = read_integer(message, start, end, "msgVersion")
    if version != VERSION:
        raise BerError(f"msgVersion {version}, not 3")
    msg_id, flags, pos = _global_data(message, pos, end)
    _, params_start, pos = read_octets(message, pos, end, "msgSecurityParameters")
    usm = _security_parameters(message, params_start, pos)
    if flags & PRIV:
        _, data_start, data_end = read_octets(message, pos, end, "encryptedPDU")
    else:
        data_start, data_end = pos, element(message, pos, end, SEQUENCE, "ScopedPDU")[1]
    if data_end != end:
        raise BerError("SNMPv3Message: octets after msgData")
    return Incoming(message, msg_id, flags, *usm, message[data_start:data_end])


def _global_data(message: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(msgID, msgFlags, position after HeaderData)."""
    start, stop = element(message, pos, end, SEQUENCE, "msgGlobalData")
    msg_id, at = read_integer(message, start, stop, "msgID")
    _, at = read_integer(message, at, stop, "msgMaxSize", low=484)
    flags, _, at = read_octets(message, at, stop, "msgFlags", most=1)
    model, at = read_integer(message, at, stop, "msgSecurityModel", low=1)
    if at != stop or len(flags) != 1:
        raise BerError("msgGlobalData: not the four fields of RFC 3412")
    if model != USM:
        raise BerError(f"msgSecurityModel {model}, not USM (3)")
    if flags[0] & (AUTH | PRIV) == PRIV:  # RFC 3412 7.2.5: privacy without authentication
        raise BerError("msgFlags: privacy without authentication")
    return msg_id, flags[0], stop


def _security_parameters(
    message: bytes, start: int, end: int
) -> tuple[bytes, int, int, bytes, tuple[int, int], bytes]:
    """UsmSecurityParameters (RFC 3414 2.4): engine ID, boots, time, user name, where the
    authentication parameters are, privacy parameters."""
    pos, stop = element(message, start, end, SEQUENCE, "UsmSecurityParameters")
    if stop != end:
        raise BerError("msgSecurityParameters: octets after UsmSecurityParameters")
    engine_id, _, pos = read_octets(message, pos, stop, "msgAuthoritativeEngineID", MOST_OCTETS)
    boots, pos = read_integer(message, pos, stop, "msgAuthoritativeEngineBoots")
    engine_time, pos = read_integer(message, pos, stop, "msgAuthoritativeEngineTime")
    user, _, pos = read_octets(message, pos, stop, "msgUserName", MOST_OCTETS)
    _, auth_start, pos = read_octets(message, pos, stop, "msgAuthenticationParameters", 64)
    auth_at = (auth_start, pos)
    salt, _, pos = read_octets(message, pos, stop, "msgPrivacyParameters", MOST_OCTETS)
    if pos != stop:
        raise BerError("UsmSecurityParameters: more than six fields")
    return engine_id, boots, engine_time, user, auth_at, salt


def authentic(incoming: Incoming, user: UsmUser, keys: LocalKeys) -> bool:
    """Whether INCOMING carries USER's HMAC under KEYS (RFC 3414 3.2 step 6)."""
    start, end = incoming.auth_at
    if end - start != user.digest.length:
        return False
    message = incoming.message
    zeroed = message[:start] + bytes(end - start) + message[end:]
    return hmac.compare_digest(user.digest.mac(keys.auth, zeroed), message[start:end])


def plaintext(incoming: Incoming, user: UsmUser, keys: LocalKeys) -> bytes:
    """INCOMING's ScopedPDU encoding, decrypted if it came encrypted (RFC 3414 3.2 step 8).

    Raises BerError if it does not decrypt (pysnmp's cipher refuses it)."""
    if not incoming.flags & PRIV:
        return incoming.data
    if user.priv is None:
        raise BerError("an encrypted message for a user without privacy")
    size = AES_KEY_SIZES.get(user.priv)
    if size is not None and keys.priv is not None:
        if len(incoming.salt) != SALT_SIZE:  # RFC 3826 3.3.2.1
            raise BerError(f"msgPrivacyParameters of {len(incoming.salt)} octets, not 8")
        iv = _iv(incoming.boots, incoming.time, incoming.salt)
        decryptor = Cipher(algorithms.AES(keys.priv[:size]), CFB(iv)).decryptor()
        return decryptor.update(incoming.data) + decryptor.finalize()
    parameters = (incoming.boots, incoming.time, univ.OctetString(incoming.salt))
    try:  # DES and 3-DES (allow_insecure): pysnmp's
        data = PRIV_SERVICES[user.priv].decrypt_data(
            univ.OctetString(keys.priv), parameters, univ.OctetString(incoming.data)
        )
    except (StatusInformation, ValueError) as exc:  # pysnmp's refusal, or cryptography's
        raise BerError(f"encryptedPDU does not decrypt ({type(exc).__name__})") from None
    return bytes(data)


def _iv(boots: int, engine_time: int, salt: bytes) -> bytes:
    """RFC 3826 3.1.2.1: the IV of AES-CFB, the agent's boots and time and the salt."""
    return boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt


def _encrypted(
    priv: Any, key: bytes, boots: int, engine_time: int, scoped: bytes
) -> tuple[bytes, bytes]:
    """(encryptedPDU octets, msgPrivacyParameters) of SCOPED (RFC 3826 3.1.3; DES and
    3-DES by pysnmp's services)."""
    size = AES_KEY_SIZES.get(priv)
    if size is None:
        cipher, salt = PRIV_SERVICES[priv].encrypt_data(
            univ.OctetString(key), (boots, engine_time, None), scoped
        )
        return bytes(cipher), bytes(salt)
    salt = next(_SALTS).to_bytes(SALT_SIZE, "big")
    encryptor = Cipher(algorithms.AES(key[:size]), CFB(_iv(boots, engine_time, salt))).encryptor()
    return encryptor.update(scoped) + encryptor.finalize(), salt


def read_scoped_pdu(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(contextEngineID, contextName, the PDU's encoding) of a ScopedPDU; octets after it
    are padding of a block cipher (RFC 3414 8.1.1.2) and ignored."""
    start, end = element(data, 0, len(data), SEQUENCE, "ScopedPDU")
    context_engine_id, _, pos = read_octets(data, start, end, "contextEngineID", MOST_OCTETS)
    context_name, _, pos = read_octets(data, pos, end, "contextName", MOST_OCTETS)
    return context_engine_id, context_name, data[pos:end]


# RFC 3414 6-7 (HMAC-MD5-96, HMAC-SHA-96) and RFC 7860 (HMAC-SHA-2): the hash and the
# digest's length, by pysnmp's protocol id; SHA-2's from pysnmp's own tables.
DIGESTS: dict[Any, Digest] = {
    HmacMd5.SERVICE_ID: Digest(hashlib.md5, 12),
    HmacSha.SERVICE_ID: Digest(hashlib.sha1, 12),
    **{
        service_id: Digest(hash_function, HmacSha2.DIGEST_LENGTH[service_id])
        for service_id, hash_function in HmacSha2.HASH_ALGORITHM.items()
    },
}
