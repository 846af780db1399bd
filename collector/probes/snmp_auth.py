"""SNMP credentials as pysnmp auth objects, and the engines that keep their USM users apart.

v3 uses SHA-1/SHA-2 and AES. MD5, DES and authNoPriv are refused unless the credential says
`allow_insecure`. Both protocols are always named: pysnmp falls back to MD5 and DES silently.

The probe's engines (`new_engine`) are pysnmp's with two parts of their own, for CPU: a MIB
builder compiling pysnmp's MIB modules once a process, and a USM keeping each agent's
localised keys in a dict instead of a new usmUserTable row per agent. Users get master keys
computed here (`add_user`); localisation, discovery and the crypto stay pysnmp's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import CodeType
from typing import Any

from pysnmp.entity import config
from pysnmp.hlapi.v1arch.asyncio import CommunityData as V1CommunityData
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_KEY_TYPE_MASTER,
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
from pysnmp.proto.rfc1902 import OctetString
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher
from pysnmp.proto.secmod.rfc3414.service import SnmpUSMSecurityModel
from pysnmp.smi.builder import MibBuilder
from pysnmp.smi.error import MibLoadError, MibNotFoundError
from pysnmp.smi.instrum import MibInstrumController

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


# RFC 3414 A.2 password-to-key hashes of the secure auth protocols; every AES privacy
# protocol hashes its password with its user's auth hash too (pysnmp's Aes.hash_passphrase).
MASTER_KEY_HASHES: dict[Any, Callable[[bytes], Any]] = {
    USM_AUTH_HMAC96_SHA: hashlib.sha1, USM_AUTH_HMAC128_SHA224: hashlib.sha224,
    USM_AUTH_HMAC192_SHA256: hashlib.sha256, USM_AUTH_HMAC256_SHA384: hashlib.sha384,
    USM_AUTH_HMAC384_SHA512: hashlib.sha512,
}  # fmt: skip
AES_PRIV_PROTOCOLS = frozenset(PRIV_PROTOCOLS.values())
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
    hashlib call over the stream takes ~1 ms. The key is localised per agent by pysnmp.
    """
    stream = password * (PASSWORD_STREAM // len(password) + 1)
    return bytes(digest(stream[:PASSWORD_STREAM]).digest())


def _octets(key: Any) -> bytes:
    """A key or a name (str, bytes or a pyasn1 OctetString) as pysnmp's OctetString octets."""
    return bytes(OctetString(key).asOctets())


def add_user(engine: SnmpEngine, creds: SnmpCredentials) -> None:
    """The credential's v3 user in ENGINE's USM (ConfigurationError if it is unusable).

    For SHA-1/SHA-2 with AES the master keys are computed here (`master_key`) and given to
    pysnmp as such; other protocols (allow_insecure) give pysnmp the passwords.
    """
    user = _usm_user(creds)
    auth, priv = user.authentication_protocol, user.privacy_protocol
    auth_key, priv_key = user.authentication_key, user.privacy_key
    auth_type, priv_type = user.authKeyType, user.privKeyType
    digest = MASTER_KEY_HASHES.get(auth)
    if digest is not None and auth_key:
        auth_key, auth_type = master_key(_octets(auth_key), digest), USM_KEY_TYPE_MASTER
        if priv in AES_PRIV_PROTOCOLS and priv_key:
            priv_key, priv_type = master_key(_octets(priv_key), digest), USM_KEY_TYPE_MASTER
    config.add_v3_user(
        engine, user.userName, auth, auth_key, priv, priv_key,
        securityName=user.securityName, authKeyType=auth_type, privKeyType=priv_type,
    )  # fmt: skip


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


# The MIB modules' code, compiled once a process: (MIB source, module) -> (code, suffix).
# None: the source has no such module.
_MIB_CODE: dict[tuple[str, str], tuple[CodeType, str] | None] = {}


class _CompiledMibBuilder(MibBuilder):  # type: ignore[misc]
    """pysnmp's MIB builder, compiling each MIB module once a process, not once an engine.

    Every `SnmpEngine()` loads ~27 MIB modules from pysnmp's .py sources, and pysnmp's
    `load_module` compiles each one twice (its source reader ignores __pycache__, and
    `runpy.run_path` compiles again when `__debug__`): ~38 of the ~45 ms an engine costs.
    This one keeps the code objects and executes them as pysnmp itself does under `-O`
    (`exec(code, {"mibBuilder": ..., "userCtx": ...})`). Only this probe's engines use it;
    pysnmp's own builder is left as it is. Should pysnmp's private state change, it falls
    back to pysnmp's `load_module`.
    """

    def load_module(self, modName: str, **userCtx: Any) -> MibBuilder:
        state = self.__dict__
        try:
            sources = state["_MibBuilder__mib_sources"]
            seen_paths: set[str] = state["_MibBuilder__modPathsSeen"]
            seen: dict[str, str] = state["_MibBuilder__modSeen"]
        except KeyError:  # another pysnmp: its own way
            return super().load_module(modName, **userCtx)
        for source in sources:
            found = _mib_code(source, modName)
            if found is None:
                continue
            code, suffix = found
            path = source.full_path(modName, suffix)
            if path not in seen_paths:
                seen_paths.add(path)
                try:
                    exec(code, {"mibBuilder": self, "userCtx": userCtx})  # noqa: S102
                except Exception as exc:  # as pysnmp reports it
                    seen_paths.discard(path)
                    raise MibLoadError(f"MIB module {path!r} load error: {exc!r}") from exc
                seen[modName] = path
            break
        if modName not in seen:
            raise MibNotFoundError(f"MIB module {modName!r} not found in pysnmp's MIB sources")
        return self


def _mib_code(source: Any, module: str) -> tuple[CodeType, str] | None:
    key = (source.full_path(), module)
    if key not in _MIB_CODE:
        try:
            _MIB_CODE[key] = source.read(module)
        except OSError:
            _MIB_CODE[key] = None
    return _MIB_CODE[key]


class _PeerKeysUsm(SnmpUSMSecurityModel):  # type: ignore[misc]
    """pysnmp's USM, keeping the user's keys localised to each agent in a dict.

    For every agent (engine ID) it meets, pysnmp's USM clones the user into a new row of
    the engine's usmUserTable (MIB instrumentation: ~1.5 ms of CPU), which also makes its
    next securityName lookup rebuild its map by walking every row (quadratic in hosts).
    Here the clone is the same localisation (pysnmp's own `localize_key` of the auth and
    privacy services, from the master keys in the user's row) kept in `_peers`; lookups
    for those agents read it. Everything else (discovery, time windows, HMAC, encryption,
    reports) is pysnmp's. Overrides pysnmp's private methods by their mangled names: if
    pysnmp renames them, its own code runs instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self._peers: dict[tuple[bytes, bytes], tuple[Any, ...]] = {}
        self._names: dict[tuple[bytes, bytes], Any] = {}

    def _SnmpUSMSecurityModel__sec2usr(
        self, snmpEngine: Any, securityName: Any, securityEngineID: Any = None
    ) -> Any:
        if securityEngineID is not None:
            name = self._names.get((_octets(securityEngineID), _octets(securityName)))
            if name is not None:
                return name
        return super()._SnmpUSMSecurityModel__sec2usr(snmpEngine, securityName, securityEngineID)

    def _SnmpUSMSecurityModel__get_user_info(
        self, mibInstrumController: Any, securityEngineID: Any, userName: Any
    ) -> tuple[Any, ...]:
        found = self._peers.get((_octets(securityEngineID), _octets(userName)))
        if found is not None:
            return found
        return SnmpUSMSecurityModel._SnmpUSMSecurityModel__get_user_info(  # type: ignore[no-any-return]
            mibInstrumController, securityEngineID, userName
        )

    def _SnmpUSMSecurityModel__clone_user_info(
        self, snmpEngine: Any, securityEngineID: Any, userName: Any
    ) -> tuple[Any, ...]:
        info = self._localised(snmpEngine, securityEngineID, userName)
        if info is None:  # a protocol without keys (allow_insecure): pysnmp's own way
            return super()._SnmpUSMSecurityModel__clone_user_info(  # type: ignore[no-any-return]
                snmpEngine, securityEngineID, userName
            )
        engine_id = _octets(securityEngineID)
        self._peers[(engine_id, _octets(info[0]))] = info
        self._names.setdefault((engine_id, _octets(info[1])), info[0])
        return info

    def _localised(self, engine: Any, peer_id: Any, user: Any) -> tuple[Any, ...] | None:
        """The user's row of the local engine, its keys localised to PEER_ID (RFC 3414 2.6).

        Raises NoSuchInstanceError for an unknown user, as pysnmp's clone does.
        """
        builder = engine.get_mib_builder()
        (local_id,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
        (users,) = builder.import_symbols("SNMP-USER-BASED-SM-MIB", "usmUserEntry")
        (keys,) = builder.import_symbols("PYSNMP-USM-MIB", "pysnmpUsmKeyEntry")
        row = users.getInstIdFromIndices(local_id.syntax, user)

        def column(entry: Any, number: int) -> Any:
            return entry.getNode((*entry.name, number, *row)).syntax

        auth_protocol, priv_protocol = column(users, 5), column(users, 8)
        auth = self.AUTH_SERVICES.get(auth_protocol)
        priv = self.PRIV_SERVICES.get(priv_protocol)
        if auth is None or priv is None:
            return None
        auth_key = auth.localize_key(column(keys, 3), peer_id)
        priv_key = priv.localize_key(auth_protocol, column(keys, 4), peer_id)
        if auth_key is None or priv_key is None:
            return None
        return (
            column(users, 2), column(users, 3), auth_protocol, column(keys, 1).clone(auth_key),
            priv_protocol, column(keys, 2).clone(priv_key),
        )  # fmt: skip


def new_engine() -> SnmpEngine:
    """An SnmpEngine with MIB modules compiled once a process and agents' keys in a dict."""
    dispatcher = MsgAndPduDispatcher(MibInstrumController(_CompiledMibBuilder()))
    engine = SnmpEngine(msgAndPduDsp=dispatcher)
    usm = _PeerKeysUsm()
    engine.security_models[usm.SECURITY_MODEL_ID] = usm
    return engine


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
            self._engines[key] = new_engine()
        return self._engines[key]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()
        self._users.clear()
