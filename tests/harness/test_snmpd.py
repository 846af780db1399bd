"""The snmpd fixture: v2c and v3 (SHA/AES authPriv) GETs with pysnmp 7 (asyncio hlapi)."""

from __future__ import annotations

import asyncio
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    usmAesCfb128Protocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto.errind import RequestTimedOut

from tests.realservers.snmpd import SnmpAgent

TIMEOUT_OID = "1.3.6.1.2.1.1.5.0"


async def _get(
    agent: SnmpAgent,
    auth: CommunityData | UsmUserData,
    oid: str,
    timeout: float = 2.0,
    retries: int = 1,
) -> tuple[Any, int, dict[str, str]]:
    """GET OID; return (errorIndication, errorStatus, {oid: value as str})."""
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(
            (agent.host, agent.port), timeout=timeout, retries=retries
        )
        error, status, _, var_binds = await get_cmd(
            engine, auth, target, ContextData(), ObjectType(ObjectIdentity(oid)), lookupMib=False
        )
    finally:
        engine.close_dispatcher()
    return error, int(status), {str(name): str(value) for name, value in var_binds}


def get(agent: SnmpAgent, auth: CommunityData | UsmUserData, oid: str, **options: float) -> Any:
    return asyncio.run(_get(agent, auth, oid, **options))  # type: ignore[arg-type]


def _v3(agent: SnmpAgent, auth_password: str | None = None) -> UsmUserData:
    return UsmUserData(
        agent.v3_user,
        authKey=auth_password or agent.v3_auth_password,
        privKey=agent.v3_priv_password,
        authProtocol=usmHMACSHAAuthProtocol,
        privProtocol=usmAesCfb128Protocol,
    )


def test_v2c_get_sysname(snmpd_server: SnmpAgent) -> None:
    auth = CommunityData(snmpd_server.community, mpModel=1)
    error, status, values = get(snmpd_server, auth, snmpd_server.sys_name_oid)
    assert (error, status) == (None, 0)
    assert values == {snmpd_server.sys_name_oid: snmpd_server.sys_name}


def test_v3_authpriv_sha_aes_get_sysname(snmpd_server: SnmpAgent) -> None:
    error, status, values = get(snmpd_server, _v3(snmpd_server), snmpd_server.sys_name_oid)
    assert (error, status) == (None, 0)
    assert values == {snmpd_server.sys_name_oid: snmpd_server.sys_name}


def test_entity_serial_and_model_are_faked(snmpd_server: SnmpAgent) -> None:
    auth = CommunityData(snmpd_server.community, mpModel=1)
    serial_oid = "1.3.6.1.2.1.47.1.1.1.1.11.1"
    assert snmpd_server.entity_serial_oid == serial_oid
    assert get(snmpd_server, auth, serial_oid)[2] == {serial_oid: snmpd_server.entity_serial}
    model = get(snmpd_server, _v3(snmpd_server), snmpd_server.entity_model_oid)
    assert model[2] == {snmpd_server.entity_model_oid: snmpd_server.entity_model}


def test_wrong_community_times_out(snmpd_server: SnmpAgent) -> None:
    auth = CommunityData("not-the-community", mpModel=1)
    error, _, values = get(snmpd_server, auth, TIMEOUT_OID, timeout=0.5, retries=0)
    assert isinstance(error, RequestTimedOut)
    assert values == {}


def test_v3_wrong_auth_password_is_rejected(snmpd_server: SnmpAgent) -> None:
    auth = _v3(snmpd_server, auth_password="wrong-password-1")
    error, _, values = get(snmpd_server, auth, TIMEOUT_OID, timeout=1.0, retries=0)
    assert error is not None
    assert values == {}
