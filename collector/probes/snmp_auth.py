"""SNMP credentials as pysnmp auth objects, and the engines that keep their USM users apart.

v3 uses SHA-1/SHA-2 and AES. MD5, DES and authNoPriv are refused unless the credential says
`allow_insecure`. Both protocols are always named: pysnmp falls back to MD5 and DES silently.
"""

from __future__ import annotations

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
    SnmpEngine,
    UsmUserData,
)

from pelihara.collector.credentials import SnmpCredentials
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


def _usm_identity(creds: SnmpCredentials) -> tuple[object, ...]:
    return (creds.auth_protocol, creds.auth_key, creds.priv_protocol, creds.priv_key)


class Engines:
    """The probe's SnmpEngine, plus one per v3 credential that reuses a taken user name.

    pysnmp keeps one USM entry per user name in an engine and silently replaces its keys
    when another credential names the same user: requests of the first then fail with
    wrong digests. So only a same-named user with other keys gets an engine of its own.
    """

    def __init__(self) -> None:
        self._engines: dict[object, SnmpEngine] = {}
        self._users: dict[str, tuple[object, ...]] = {}

    def engine_for(self, creds: SnmpCredentials) -> SnmpEngine:
        key: object = None
        if creds.version == "3" and creds.user:
            identity = _usm_identity(creds)
            if self._users.setdefault(creds.user, identity) != identity:
                key = (creds.user, identity)
        if key not in self._engines:
            self._engines[key] = SnmpEngine()
        return self._engines[key]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()
        self._users.clear()
