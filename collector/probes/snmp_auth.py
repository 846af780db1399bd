"""SNMP credentials as pysnmp auth objects (v2c) and USM users (v3, `snmp_usm`).

v3 uses SHA-1/SHA-2 and AES. MD5, DES and authNoPriv are refused unless the credential says
`allow_insecure`. Both protocols are always named: pysnmp falls back to MD5 and DES silently.
A v3 user's master keys are computed here (`master_key`, RFC 3414 A.2); their localisation
to each agent and the ciphers are pysnmp's services (`snmp_usm.UsmUser`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pysnmp.hlapi.v1arch.asyncio import CommunityData as V1CommunityData
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_PRIV_CBC56_DES,
    USM_PRIV_CBC168_3DES,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB192_AES_BLUMENTHAL,
    USM_PRIV_CFB256_AES,
    USM_PRIV_CFB256_AES_BLUMENTHAL,
    USM_PRIV_NONE,
    UsmUserData,
)
from pysnmp.proto.rfc1902 import OctetString

from pelihara.collector.credentials import SnmpCredentials
from pelihara.collector.probes.snmp_usm import DIGESTS, UsmUser
from pelihara.core.errors import ConfigurationError

AUTH_PROTOCOLS = {
    "SHA": USM_AUTH_HMAC96_SHA, "SHA1": USM_AUTH_HMAC96_SHA,
    "SHA224": USM_AUTH_HMAC128_SHA224, "SHA256": USM_AUTH_HMAC192_SHA256,
    "SHA384": USM_AUTH_HMAC256_SHA384, "SHA512": USM_AUTH_HMAC384_SHA512,
}  # fmt: skip
# AES-192/256 keys are longer than a SHA-1 digest and must be extended. net-snmp's "AES192"
# and "AES256" extend them as draft-blumenthal does (pysnmp's *_BLUMENTHAL; checked against
# snmpd 5.9 with SHA + AES-256). pysnmp's plain USM_PRIV_CFB*_AES use Reeder's extension,
# which Cisco calls AES-192/256 and net-snmp "AES192C"/"AES256C".
PRIV_PROTOCOLS = {
    "AES": USM_PRIV_CFB128_AES, "AES128": USM_PRIV_CFB128_AES,
    "AES192": USM_PRIV_CFB192_AES_BLUMENTHAL, "AES256": USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES192C": USM_PRIV_CFB192_AES, "AES256C": USM_PRIV_CFB256_AES,
}  # fmt: skip
INSECURE_AUTH_PROTOCOLS = {"MD5": USM_AUTH_HMAC96_MD5}
INSECURE_PRIV_PROTOCOLS = {"DES": USM_PRIV_CBC56_DES, "3DES": USM_PRIV_CBC168_3DES}
PROTOCOLS = {
    "auth": (AUTH_PROTOCOLS, INSECURE_AUTH_PROTOCOLS),
    "privacy": (PRIV_PROTOCOLS, INSECURE_PRIV_PROTOCOLS),
}


# RFC 3414 A.2 password-to-key hashes of the auth protocols; every privacy protocol hashes
# its password with its user's auth hash too (pysnmp's hash_passphrase of each).
MASTER_KEY_HASHES: dict[Any, Callable[[bytes], Any]] = {
    USM_AUTH_HMAC96_MD5: hashlib.md5, USM_AUTH_HMAC96_SHA: hashlib.sha1,
    USM_AUTH_HMAC128_SHA224: hashlib.sha224, USM_AUTH_HMAC192_SHA256: hashlib.sha256,
    USM_AUTH_HMAC256_SHA384: hashlib.sha384, USM_AUTH_HMAC384_SHA512: hashlib.sha512,
}  # fmt: skip
PASSWORD_STREAM = 1_048_576  # RFC 3414 A.2: the password repeated to 1 MiB


def _protocol_name(name: str) -> str:
    return name.upper().replace("-", "").replace("_", "")


def _protocol(kind: str, name: str, creds: SnmpCredentials) -> Any:
    """pysnmp's protocol id for an auth or privacy protocol name; insecure ones if allowed."""
    secure, insecure = PROTOCOLS[kind]
    key = _protocol_name(name)
    if key in secure:
        return secure[key]
    if key in insecure and creds.allow_insecure:
        return insecure[key]
    if key in insecure:
        raise ConfigurationError(
            f"SNMP credential {creds.name!r}: {kind} protocol {name} is insecure; "
            "use SHA-2 and AES, or set allow_insecure = true"
        )
    raise ConfigurationError(f"SNMP credential {creds.name!r}: unknown {kind} protocol {name!r}")


def _usm_user(creds: SnmpCredentials) -> UsmUserData:
    """The v3 user; both protocols always named (pysnmp's defaults are MD5 and DES)."""
    if not creds.user or creds.auth_key is None:
        raise ConfigurationError(f"SNMP credential {creds.name!r}: v3 needs user and auth_key")
    if creds.priv_key is None and not creds.allow_insecure:
        raise ConfigurationError(
            f"SNMP credential {creds.name!r}: no priv_key (authNoPriv sends everything in "
            "clear); add one, or set allow_insecure = true"
        )
    auth = _protocol("auth", creds.auth_protocol, creds)
    priv = _protocol("privacy", creds.priv_protocol, creds) if creds.priv_key else USM_PRIV_NONE
    return UsmUserData(
        creds.user,
        authKey=creds.auth_key.reveal(),
        authProtocol=auth,
        privKey=creds.priv_key.reveal() if creds.priv_key else None,
        privProtocol=priv,
    )


def master_key(password: bytes, digest: Callable[[bytes], Any]) -> bytes:
    """RFC 3414 A.2's password to key (Ku): the password repeated to 1 MiB, hashed.

    pysnmp's `hash_passphrase` gives the same key in 16,384 Python slices (~3.5 ms); one
    hashlib call over the stream takes ~1 ms.
    """
    stream = password * (PASSWORD_STREAM // len(password) + 1)
    return bytes(digest(stream[:PASSWORD_STREAM]).digest())


def octets_of(key: Any) -> bytes:
    """A key or a name (str, bytes or a pyasn1 OctetString) as pysnmp's OctetString octets."""
    return bytes(OctetString(key).asOctets())


def usm_user(creds: SnmpCredentials) -> UsmUser:
    """The credential's v3 user with its master keys (ConfigurationError if it is unusable).

    Every privacy protocol hashes its password with the user's auth hash, as pysnmp's
    `hash_passphrase` of each does (tested for every pair).
    """
    user = _usm_user(creds)
    auth, priv = user.authentication_protocol, user.privacy_protocol
    digest = MASTER_KEY_HASHES[auth]
    auth_key = master_key(octets_of(user.authentication_key), digest)
    if priv == USM_PRIV_NONE:
        return UsmUser(octets_of(user.userName), auth, DIGESTS[auth], auth_key, None, None)
    priv_key = master_key(octets_of(user.privacy_key), digest)
    return UsmUser(octets_of(user.userName), auth, DIGESTS[auth], auth_key, priv, priv_key)


def is_insecure(creds: SnmpCredentials) -> bool:
    return creds.version == "3" and (
        _protocol_name(creds.auth_protocol) in INSECURE_AUTH_PROTOCOLS
        or creds.priv_key is None
        or _protocol_name(creds.priv_protocol) in INSECURE_PRIV_PROTOCOLS
    )


def auth_data(creds: SnmpCredentials) -> V1CommunityData | UsmUserData:
    """pysnmp's auth object for a credential; ConfigurationError if it is unusable.

    v2c: the community for pysnmp's light v1arch dispatcher (v2c needs no engine); unlike
    the v3arch object, its repr shows the community, so it never leaves the probe.
    """
    if creds.version == "2c":
        if creds.community is None:
            raise ConfigurationError(f"SNMP credential {creds.name!r}: v2c needs a community")
        # v2c is plain text on the wire; the inventory asks for it (legacy devices), we obey.
        return V1CommunityData(creds.community.reveal(), mpModel=1)  # noqa: S508
    if creds.version == "3":
        return _usm_user(creds)
    raise ConfigurationError(
        f"SNMP credential {creds.name!r}: version {creds.version!r} is not supported (2c or 3)"
    )
