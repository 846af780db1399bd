"""The SNMP probe: parsers on varbinds recorded from net-snmp, the probe against the real snmpd.

The recordings are tests/fixtures/snmp/*.json (see the README there); the live tests use the
session's `snmpd_server` on 127.0.0.1, which runs on this machine, so its memory size is
this machine's /proc/meminfo.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC384_SHA512,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB256_AES,
    USM_PRIV_CFB256_AES_BLUMENTHAL,
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
)
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.secmod.rfc3414.service import SnmpUSMSecurityModel

from pelihara.collector.credentials import (
    Credentials,
    Secret,
    SnmpCredentials,
    SshCredentials,
    _env_name,
)
from pelihara.collector.probes import snmp
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.snmp import SnmpOptions, SnmpProbe
from pelihara.collector.probes.snmp_auth import auth_data, usm_user
from pelihara.collector.probes.snmp_tables import (
    TABLES,
    TableWalk,
    Value,
    VarBind,
    inet_address,
    parse_addresses,
    parse_entities,
    parse_interfaces,
    parse_processors,
    parse_storage,
    parse_system,
    split_bulk_response,
)
from pelihara.collector.verify import SNMP_TABLES
from pelihara.core.errors import ConfigurationError
from tests.realservers.base import free_port
from tests.realservers.snmpd import LIMITED_COMMUNITY, SnmpAgent

FIXTURES = Path(__file__).parents[1] / "fixtures" / "snmp"
DATA_KEYS = [
    "address", "sysName", "sysDescr", "sysObjectID", "sysLocation", "uptime_seconds",
    "memory_total_bytes", "storage", "processors", "interfaces", "addresses", "entities",
]  # fmt: skip
WRONG_COMMUNITY = "not-the-community-7f3a"
WRONG_AUTH_KEY = "wrong-auth-key-5b1c"


# --- recorded varbinds -------------------------------------------------------------------


def rebuild(kind: str, value: Any) -> Any:
    """The pysnmp object a recording's [type, value] stands for."""
    if value is None:
        return getattr(rfc1905, kind)("")
    cls = getattr(rfc1902, kind)
    if isinstance(value, str) and kind != "ObjectIdentifier":
        return cls(hexValue=value)
    return cls(value)


def plain_value(value: Any) -> Value:
    """A pysnmp/pyasn1 value as int, bytes, str (an OID) or None (an SNMP exception value):
    what the probe's own reader (`snmp_pdu`) makes of the same octets."""
    # Null first: noSuchObject & co. are Null, and pyasn1's Null is an OctetString subclass.
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    return None


def recorded(name: str) -> list[VarBind]:
    """A fixture's varbinds, through `plain_value` as the probe passes them to the parsers."""
    document = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return [(oid, plain_value(rebuild(kind, value))) for oid, kind, value in document["varbinds"]]


def test_recordings_cover_every_table_and_say_where_they_came_from() -> None:
    for name in ["system", *(table.key for table in TABLES if not table.data_key)]:
        document = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
        assert "snmpd" in document["source"] and document["varbinds"], name
    assert "tests.fixtures.snmp.record" in (FIXTURES / "README.md").read_text(encoding="utf-8")


def test_plain_values() -> None:
    assert plain_value(rfc1902.Integer32(-3)) == -3
    assert plain_value(rfc1902.Counter64(2**40)) == 2**40
    assert plain_value(rfc1902.TimeTicks(12345)) == 12345
    assert plain_value(rfc1902.OctetString(b"\x00\xff")) == b"\x00\xff"
    assert plain_value(rfc1902.IpAddress("10.1.2.3")) == b"\n\x01\x02\x03"
    assert plain_value(rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072")) == "1.3.6.1.4.1.8072"
    for absent in (rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView):
        assert plain_value(absent) is None


def test_system_scalars_from_recording() -> None:
    system = parse_system(recorded("system"))
    assert system["sysName"] == "test-agent-1"
    assert system["sysLocation"] == '"test lab"'  # net-snmp keeps the config's quotes
    assert system["sysObjectID"] == "1.3.6.1.4.1.8072.3.2.10"  # net-snmp on Linux
    assert system["sysDescr"].startswith("Linux ")
    assert system["uptime_seconds"] == 65.11  # 6511 TimeTicks
    assert system["memory_total_bytes"] == 24683656 * 1024  # hrMemorySize is KiB


def test_system_scalars_the_agent_lacks_are_none() -> None:
    system = parse_system([("1.3.6.1.2.1.1.5.0", b"web1"), ("1.3.6.1.2.1.25.2.2.0", None)])
    assert system["sysName"] == "web1"
    assert system["memory_total_bytes"] is None and system["uptime_seconds"] is None


def test_storage_from_recording() -> None:
    rows = parse_storage(recorded("storage"))
    assert len(rows) == 11
    assert rows[0] == {
        "index": 1, "type": "ram", "description": "Physical memory",
        "size_bytes": 24683656 * 1024, "used_bytes": 522468 * 1024,
    }  # fmt: skip
    root = next(row for row in rows if row["description"] == "/")
    assert root["type"] == "fixedDisk" and root["size_bytes"] % 4096 == 0
    assert 0 < root["used_bytes"] < root["size_bytes"]


def test_storage_size_wrapped_negative_by_the_agent() -> None:
    entry = "1.3.6.1.2.1.25.2.3.1"
    varbinds: list[VarBind] = [
        (f"{entry}.2.5", "1.3.6.1.2.1.25.2.1.99"), (f"{entry}.4.5", 4096),
        (f"{entry}.5.5", -(2**31)), (f"{entry}.6.5", 7),
    ]  # fmt: skip
    [row] = parse_storage(varbinds)
    assert row["type"] == "1.3.6.1.2.1.25.2.1.99"  # an unknown type stays an OID
    assert row["size_bytes"] == 2**31 * 4096 and row["used_bytes"] == 7 * 4096
    assert row["description"] is None


def test_processors_from_recording() -> None:
    rows = parse_processors(recorded("processors"))
    assert [row["index"] for row in rows] == [196608, 196609]
    assert all(0 <= row["load_percent"] <= 100 for row in rows)


def test_interfaces_from_recording() -> None:
    rows = parse_interfaces(recorded("interfaces"))
    assert [row["name"] for row in rows] == ["lo", "ifb0", "ifb1", "eth0"]
    assert rows[0] == {
        "index": 1, "name": "lo", "description": "lo", "mac": None, "speed_mbps": 10,
        "admin_up": True, "oper_up": True,
    }  # fmt: skip
    assert rows[3]["mac"] == "02:fc:00:00:00:01" and rows[3]["oper_up"] is True
    assert rows[1]["admin_up"] is False and rows[1]["oper_up"] is False


def test_interfaces_without_ifxtable_fall_back_to_ifspeed() -> None:
    entry = "1.3.6.1.2.1.2.2.1"
    varbinds: list[VarBind] = [
        (f"{entry}.2.7", b"GigabitEthernet0/1\x00"), (f"{entry}.5.7", 4294967295),
        (f"{entry}.6.7", b"\x00\x1a\x2b\x3c\x4d\x5e"), (f"{entry}.8.7", 7),
    ]  # fmt: skip
    [row] = parse_interfaces(varbinds)
    assert row == {
        "index": 7, "name": None, "description": "GigabitEthernet0/1",
        "mac": "00:1a:2b:3c:4d:5e", "speed_mbps": 4294, "admin_up": None, "oper_up": False,
    }  # fmt: skip


def test_addresses_from_recording_deduplicated_sorted_without_broadcast() -> None:
    assert parse_addresses(recorded("addresses")) == [
        {"address": "127.0.0.1", "if_index": 1},
        {"address": "192.0.2.2", "if_index": 4},
        {"address": "::1", "if_index": 1},
        {"address": "fd00::2", "if_index": 4},
        {"address": "fe80::fc:ff:fe00:1", "if_index": 4},
    ]


@pytest.mark.parametrize(
    ("index", "address"),
    [
        ((1, 4, 10, 0, 0, 11), "10.0.0.11"),
        ((2, 16, *[0] * 15, 1), "::1"),
        ((4, 20, 254, 128, *[0] * 13, 1, 0, 0, 0, 2), "fe80::1%2"),
        ((3, 8, 169, 254, 1, 1, 0, 0, 0, 3), "169.254.1.1%3"),
        ((16, 4, 119, 119, 119, 46), None),  # dns(16)
        ((1, 4, 10, 0, 0), None),  # too short
        ((2, 4, 10, 0, 0, 1), None),  # wrong length for ipv6
        ((1, 4, 10, 0, 0, 300), None),
    ],
)
def test_inet_address_index(index: tuple[int, ...], address: str | None) -> None:
    assert inet_address(index) == address


def test_entities_from_recording() -> None:
    assert parse_entities(recorded("entities")) == [
        {
            "index": 1, "description": "Test chassis", "class": None, "name": None,
            "serial": "SN-TEST-0001", "model": "MODEL-X",
        }
    ]  # fmt: skip


def test_entity_class_names_and_blank_serials() -> None:
    entry = "1.3.6.1.2.1.47.1.1.1.1"
    varbinds: list[VarBind] = [
        (f"{entry}.5.1", 3), (f"{entry}.11.1", b"  ABC123  "),
        (f"{entry}.5.2", 10), (f"{entry}.11.2", b""), (f"{entry}.5.3", 99),
    ]  # fmt: skip
    rows = parse_entities(varbinds)
    assert [(row["class"], row["serial"]) for row in rows] == [
        ("chassis", "ABC123"), ("port", None), ("99", None)
    ]  # fmt: skip


def test_split_bulk_response_row_major_columns_end_apart() -> None:
    a, b = "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"
    answer: list[VarBind] = [
        (f"{a}.1", b"lo"), (f"{b}.1", 1),
        (f"{a}.2", b"eth0"), (f"{b}.2", 1),
        (f"{b}.1", 1), ("1.3.6.1.2.1.2.2.1.9.1", 0),  # a left its column; b's next column
    ]  # fmt: skip
    kept, last, ended = split_bulk_response((a, b), {}, answer)
    assert kept == answer[:4]
    assert last == {a: f"{a}.2", b: f"{b}.2"} and ended == {a, b}


def test_split_bulk_response_stops_on_end_of_mib_and_oids_not_increasing() -> None:
    a, b = "1.3.6.1.2.1.25.3.3.1.2", "1.3.6.1.2.1.47.1.1.1.1.2"
    answer: list[VarBind] = [(f"{a}.5", 3), (f"{b}.1", None)]
    kept, last, ended = split_bulk_response((a, b), {a: f"{a}.9"}, answer)
    assert kept == [] and ended == {a, b} and last == {a: f"{a}.9"}
    kept, last, ended = split_bulk_response((a,), {a: f"{a}.9"}, [(f"{a}.10", 1)])
    assert kept == [(f"{a}.10", 1)] and last == {a: f"{a}.10"} and not ended


ENTITY = "1.3.6.1.2.1.47.1.1.1.1"
PROCESSOR = "1.3.6.1.2.1.25.3.3.1"


def test_table_walk_asks_a_missing_table_by_its_first_column_only() -> None:
    walk = TableWalk((f"{PROCESSOR}.2", f"{ENTITY}.2", f"{ENTITY}.11", f"{ENTITY}.13"))
    assert walk.pending == (f"{PROCESSOR}.2", f"{ENTITY}.2")
    # Two rows of processors; no ENTITY-MIB: entPhysicalDescr's successor is another MIB.
    walk.took([(f"{PROCESSOR}.2.196608", 3), ("1.3.6.1.2.1.55.1", 1),
               (f"{PROCESSOR}.2.196609", 5), ("1.3.6.1.2.1.55.2", 1)])  # fmt: skip
    assert walk.starts() == (f"{PROCESSOR}.2.196609",)  # serial and model never asked
    walk.took([("1.3.6.1.2.1.25.3.4.1", 1)])
    assert walk.pending == () and [oid for oid, _ in walk.found] == [
        f"{PROCESSOR}.2.196608", f"{PROCESSOR}.2.196609"]  # fmt: skip


def test_table_walk_reads_the_other_columns_only_as_far_as_the_first_one_went() -> None:
    walk = TableWalk((f"{ENTITY}.2", f"{ENTITY}.11"))
    walk.took([(f"{ENTITY}.2.1", b"chassis"), (f"{ENTITY}.2.2", b"psu"), (f"{ENTITY}.5.1", 3)])
    assert walk.pending == (f"{ENTITY}.11",) and walk.starts() == (f"{ENTITY}.11",)
    assert walk.repetitions(25) == 2  # the table has two rows: no repetition past them
    walk.took([(f"{ENTITY}.11.1", b"SN1"), (f"{ENTITY}.11.2", b"SN2")])
    assert walk.pending == ()  # done without asking for the end of the column
    assert walk.found[-2:] == [(f"{ENTITY}.11.1", b"SN1"), (f"{ENTITY}.11.2", b"SN2")]


def test_table_walk_asks_the_rows_known_of_the_other_columns_as_cells() -> None:
    name, serial = f"{ENTITY}.7", f"{ENTITY}.11"
    walk = TableWalk((f"{ENTITY}.2", name, serial))
    walk.took([(f"{ENTITY}.2.1", b"chassis"), (f"{ENTITY}.2.5", b"psu"),
               (f"{ENTITY}.2.9", b"fan"), (f"{ENTITY}.5.1", 3)])  # fmt: skip
    assert walk.pending == (name, serial)  # rows 1, 5 and 9: known once the column ended
    walk.take_cells()
    assert walk.pending == () and walk.cells_left
    asked = walk.cells(40)  # the successor of each row but the last: one answer per row
    assert [oid for _, oid in asked] == [name, f"{name}.1", f"{name}.5",
                                         serial, f"{serial}.1", f"{serial}.5"]  # fmt: skip
    # No name for row 5 (row 9's answers twice); the answer truncated after five.
    walk.took_cells(asked, [(f"{name}.1", b"a"), (f"{name}.9", b"c"), (f"{name}.9", b"c"),
                            (f"{serial}.1", b"SN1"), (f"{serial}.5", b"SN5")])  # fmt: skip
    assert walk.cells(40) == ((serial, f"{serial}.5"),)
    walk.took_cells(walk.cells(40), [(f"{serial}.9", b"SN9")])
    assert not walk.cells_left
    assert walk.found[3:] == [(f"{name}.1", b"a"), (f"{name}.9", b"c"), (f"{serial}.1", b"SN1"),
                              (f"{serial}.5", b"SN5"), (f"{serial}.9", b"SN9")]  # fmt: skip


def test_table_walk_guesses_while_the_first_column_goes_on() -> None:
    walk = TableWalk((f"{ENTITY}.2", f"{ENTITY}.11"))
    walk.took([(f"{ENTITY}.2.1", b"chassis")])  # a truncated answer: more may come
    assert walk.pending == (f"{ENTITY}.2", f"{ENTITY}.11")
    assert walk.repetitions(8) == 8


# --- credentials -------------------------------------------------------------------------


def v3(agent: SnmpAgent, name: str = "v3", **changes: Any) -> SnmpCredentials:
    values: dict[str, Any] = {
        "user": agent.v3_user,
        "auth_protocol": agent.v3_auth_protocol,  # SHA (SHA-1)
        "auth_key": Secret(agent.v3_auth_password),
        "priv_protocol": agent.v3_priv_protocol,  # AES (128)
        "priv_key": Secret(agent.v3_priv_password),
    }
    return SnmpCredentials(name=name, version="3", **{**values, **changes})


def v2c(community: str, name: str = "v2c") -> SnmpCredentials:
    return SnmpCredentials(name=name, version="2c", community=Secret(community))


def credentials(*snmp: SnmpCredentials) -> Credentials:
    """Keyed as load_credentials keys them (upper case, other than [A-Z0-9] as `_`)."""
    return Credentials(ssh=SshCredentials(), snmp={_env_name(c.name): c for c in snmp})


def test_v3_protocol_names_map_to_sha2_and_aes() -> None:
    user = auth_data(SnmpCredentials(
        "x", "3", user="u", auth_protocol="SHA-512", auth_key=Secret("a" * 8),
        priv_protocol="AES256", priv_key=Secret("p" * 8),
    ))  # fmt: skip
    assert user.authentication_protocol == USM_AUTH_HMAC384_SHA512
    # net-snmp's AES-256 extends the key as draft-blumenthal does; "AES256C" is Cisco's.
    assert user.privacy_protocol == USM_PRIV_CFB256_AES_BLUMENTHAL
    cisco = auth_data(SnmpCredentials(
        "x", "3", user="u", auth_key=Secret("a" * 8), priv_protocol="AES256C",
        priv_key=Secret("p" * 8),
    ))  # fmt: skip
    assert cisco.authentication_protocol == USM_AUTH_HMAC192_SHA256  # the credential default
    assert cisco.privacy_protocol == USM_PRIV_CFB256_AES


def test_sha1_and_aes128_are_named_explicitly() -> None:
    user = auth_data(SnmpCredentials(
        "x", "3", user="u", auth_protocol="SHA", auth_key=Secret("a" * 8),
        priv_protocol="AES", priv_key=Secret("p" * 8),
    ))  # fmt: skip
    assert user.authentication_protocol == USM_AUTH_HMAC96_SHA
    assert user.privacy_protocol == USM_PRIV_CFB128_AES


AUTHS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIVS = ("AES", "AES192", "AES256", "AES192C", "AES256C", "DES", "3DES")


@pytest.mark.parametrize("auth", AUTHS)
def test_v3_users_get_the_master_keys_pysnmp_derives_from_the_passwords(auth: str) -> None:
    # usm_user hashes the passwords itself (one hashlib call, not pysnmp's 16,384 slices):
    # they must be the very keys pysnmp's services derive, for every auth and privacy pair.
    for priv in PRIVS:
        creds = SnmpCredentials(
            "c", "3", user=f"u-{auth}-{priv}", auth_protocol=auth, auth_key=Secret("auth-ä-1"),
            priv_protocol=priv, priv_key=Secret(f"priv-{priv}"), allow_insecure=True,
        )  # fmt: skip
        ours, stock = usm_user(creds), auth_data(creds)
        assert isinstance(stock, UsmUserData)
        auth_id, priv_id = stock.authentication_protocol, stock.privacy_protocol
        usm = SnmpUSMSecurityModel
        assert ours.auth_key == bytes(usm.AUTH_SERVICES[auth_id].hash_passphrase("auth-ä-1"))
        expected = usm.PRIV_SERVICES[priv_id].hash_passphrase(auth_id, f"priv-{priv}")
        assert ours.priv_key == bytes(expected), (auth, priv)
        assert (ours.name, ours.auth, ours.priv) == (f"u-{auth}-{priv}".encode(), auth_id, priv_id)


def test_v3_user_without_privacy_has_no_privacy_key() -> None:
    creds = SnmpCredentials("c", "3", user="u", auth_key=Secret("a" * 8), allow_insecure=True)
    user = usm_user(creds)
    assert (user.priv, user.priv_key, user.flags) == (None, None, 1)
    assert "a" * 8 not in repr(user) and repr(user) == "UsmUser(b'u')"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"auth_protocol": "MD5"}, "auth protocol MD5 is insecure"),
        ({"priv_protocol": "DES"}, "privacy protocol DES is insecure"),
        ({"priv_key": None}, "authNoPriv"),
        ({"auth_protocol": "SHA3"}, "unknown auth protocol 'SHA3'"),
        ({"auth_key": None}, "v3 needs user and auth_key"),
    ],
)
def test_unusable_v3_credentials_are_configuration_errors(
    changes: dict[str, Any], words: str
) -> None:
    values: dict[str, Any] = {"user": "u", "auth_key": Secret("a" * 8), "priv_key": Secret("p")}
    with pytest.raises(ConfigurationError, match=words):
        auth_data(SnmpCredentials("cred", "3", **{**values, **changes}))


# --- the probe against the real snmpd ----------------------------------------------------


def target(agent: SnmpAgent, credential: str | None, **changes: Any) -> Target:
    values: dict[str, Any] = {
        "hostname": "test-agent-1", "domain": "test-agent-1.test.lab",
        "addresses": (agent.host,), "snmp_port": agent.port, "snmp_credential": credential,
    }  # fmt: skip
    return Target(**{**values, **changes})


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


async def probe_with(options: SnmpOptions, *targets: Target) -> list[ProbeResult]:
    probe = SnmpProbe(options)
    try:
        return list(await asyncio.gather(*(probe.probe(t) for t in targets)))
    finally:
        await probe.close()


def probe_once(options: SnmpOptions, one: Target) -> ProbeResult:
    [result] = run(probe_with(options, one))
    return result  # type: ignore[no-any-return]


def mem_total_bytes() -> int:
    for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def assert_sees_the_fixture(result: ProbeResult, agent: SnmpAgent) -> None:
    assert result.status is ProbeStatus.OK, result.error
    data = result.data
    assert list(data) == DATA_KEYS
    json.dumps(data)  # JSON-ready
    assert data["address"] == agent.host
    assert data["sysName"] == agent.sys_name
    assert data["memory_total_bytes"] == mem_total_bytes() > 0
    assert data["uptime_seconds"] >= 0
    lo = next(row for row in data["interfaces"] if row["name"] == "lo")
    assert lo["oper_up"] is True and lo["admin_up"] is True
    assert {"address": "127.0.0.1", "if_index": lo["index"]} in data["addresses"]
    entity = {"serial": agent.entity_serial, "model": agent.entity_model}
    assert entity in [{k: row[k] for k in entity} for row in data["entities"]]
    assert any(row["type"] == "ram" for row in data["storage"])


def test_v2c_reads_system_and_tables(snmpd_server: SnmpAgent) -> None:
    options = SnmpOptions(credentials(v2c(snmpd_server.community)))
    result = probe_once(options, target(snmpd_server, "v2c", snmp_version="2c"))
    assert_sees_the_fixture(result, snmpd_server)
    assert (result.host, result.source, result.error) == ("test-agent-1", "snmp", None)


def test_v3_authpriv_sha_aes_reads_system_and_tables(snmpd_server: SnmpAgent) -> None:
    options = SnmpOptions(credentials(v3(snmpd_server, name="snmp-dc-v3")))
    result = probe_once(options, target(snmpd_server, "snmp-dc-v3", snmp_version="3"))
    assert_sees_the_fixture(result, snmpd_server)


async def walk_column_by_column(agent: SnmpAgent) -> dict[str, list[VarBind]]:
    """Every table as pysnmp's own bulk_walk_cmd reads it, one column at a time."""
    engine = SnmpEngine()
    auth = CommunityData(agent.community, mpModel=1)
    transport = await UdpTransportTarget.create((agent.host, agent.port), timeout=2, retries=1)
    walked: dict[str, list[VarBind]] = {}
    for table in TABLES:
        walked[table.key] = []
        for column in table.columns:
            async for error, status, _, varbinds in bulk_walk_cmd(
                engine, auth, transport, ContextData(), 0, 25,
                ObjectType(ObjectIdentity(column)), lookupMib=False, lexicographicMode=False,
            ):  # fmt: skip
                assert not error and not int(status)
                walked[table.key] += [(str(name), plain_value(value)) for name, value in varbinds]
    engine.close_dispatcher()
    return walked


def stable(key: str, rows: list[dict[str, Any]]) -> list[Any]:
    """The rows without what changes between two reads (used bytes, CPU load)."""
    if key == "storage":
        return [(row["index"], row["type"], row["description"]) for row in rows]
    if key == "processors":
        return [row["index"] for row in rows]
    if key == "traffic":  # counters move between the two reads
        return [(row["index"], row["name"]) for row in rows]
    return rows


@pytest.mark.parametrize("varbinds_per_request", [1, 7, 40])
def test_table_walk_reads_what_pysnmp_walks_column_by_column(
    snmpd_server: SnmpAgent, monkeypatch: pytest.MonkeyPatch, varbinds_per_request: int
) -> None:
    # 1 and 7 force one or a few rows per GETBULK: many rounds, columns ending apart.
    monkeypatch.setattr(snmp, "VARBINDS_PER_REQUEST", varbinds_per_request)
    tables = [table for table in TABLES if not table.data_key]  # each its own key
    every_table = tuple(table.key for table in tables)
    options = SnmpOptions(credentials(v2c(snmpd_server.community)), tables=every_table)
    data = probe_once(options, target(snmpd_server, "v2c")).data
    walked = run(walk_column_by_column(snmpd_server))
    for table in tables:
        expected = stable(table.key, table.parse(walked[table.key]))
        assert stable(table.key, data[table.key]) == expected, table.key
    assert len(data["storage"]) > 8 and data["interfaces"]  # more rows than one GETBULK


def test_verifys_address_set_is_the_full_tables_addresses_without_ipv6_if_indexes(
    snmpd_server: SnmpAgent,
) -> None:
    """`address-set` (verify's) leaves out ipAddressIfIndex: the same addresses as the
    full `addresses`, stored under the same key, the IPv4 ones with their ifIndex (from
    ipAddrTable), the IPv6 ones without."""
    agent = credentials(v2c(snmpd_server.community))
    full = probe_once(SnmpOptions(agent, tables=("addresses",)), target(snmpd_server, "v2c"))
    lean = probe_once(SnmpOptions(agent, tables=("address-set",)), target(snmpd_server, "v2c"))
    assert "address-set" not in lean.data
    assert [r["address"] for r in lean.data["addresses"]] == [
        r["address"] for r in full.data["addresses"]
    ]
    assert "127.0.0.1" in {r["address"] for r in lean.data["addresses"]}
    for row, full_row in zip(lean.data["addresses"], full.data["addresses"], strict=True):
        ipv6 = ":" in row["address"]
        assert row["if_index"] == (None if ipv6 else full_row["if_index"]), row


def test_verifys_processor_count_has_the_full_tables_rows_without_their_load(
    snmpd_server: SnmpAgent,
) -> None:
    agent = credentials(v2c(snmpd_server.community))
    full = probe_once(SnmpOptions(agent, tables=("processors",)), target(snmpd_server, "v2c"))
    lean = probe_once(SnmpOptions(agent, tables=("processor-count",)), target(snmpd_server, "v2c"))
    assert "processor-count" not in lean.data and lean.data["processors"]
    assert [r["index"] for r in lean.data["processors"]] == [
        r["index"] for r in full.data["processors"]
    ]
    assert {r["load_percent"] for r in lean.data["processors"]} == {None}


def test_a_table_that_does_not_exist_is_refused_when_the_options_are_made() -> None:
    with pytest.raises(ValueError, match="no SNMP table entity-serial"):
        SnmpOptions(credentials(v2c("public")), tables=("processors", "entity-serial"))
    assert SnmpOptions(credentials(v2c("public")), tables=SNMP_TABLES).tables == SNMP_TABLES


def test_verifys_entity_serials_are_the_full_tables_serials_and_models(
    snmpd_server: SnmpAgent,
) -> None:
    agent = credentials(v2c(snmpd_server.community))
    full = probe_once(SnmpOptions(agent, tables=("entities",)), target(snmpd_server, "v2c"))
    lean = probe_once(SnmpOptions(agent, tables=("entity-serials",)), target(snmpd_server, "v2c"))
    assert lean.ok and "entity-serials" not in lean.data, lean.error
    assert [(r["index"], r["serial"], r["model"]) for r in lean.data["entities"]] == [
        (r["index"], r["serial"], r["model"]) for r in full.data["entities"]
    ]
    assert snmpd_server.entity_serial in {r["serial"] for r in lean.data["entities"]}
    assert {(r["description"], r["class"], r["name"]) for r in lean.data["entities"]} == {
        (None, None, None)
    }


def test_wrong_community_is_unreachable_quickly_and_never_shown(snmpd_server: SnmpAgent) -> None:
    options = SnmpOptions(credentials(v2c(WRONG_COMMUNITY)), timeout=0.5, retries=0)
    started = time.monotonic()
    result = probe_once(options, target(snmpd_server, "v2c"))
    elapsed = time.monotonic() - started
    where = f"{snmpd_server.host}:{snmpd_server.port}"
    assert result.status is ProbeStatus.UNREACHABLE
    assert result.error == f"no SNMP answer from {where} (wrong community, or no agent)"
    assert WRONG_COMMUNITY not in repr(result)
    # One 0.5 s timeout, not one per table: the walks never start after an unanswered GET.
    assert elapsed < 3.0


def test_wrong_v3_auth_key_is_refused_without_the_key(snmpd_server: SnmpAgent) -> None:
    creds = v3(snmpd_server, auth_key=Secret(WRONG_AUTH_KEY))
    result = probe_once(SnmpOptions(credentials(creds), timeout=1.0, retries=0),
                        target(snmpd_server, "v3"))  # fmt: skip
    assert result.status is ProbeStatus.REFUSED
    assert result.error is not None and "wrong auth key" in result.error
    assert "wrongDigest" in result.error
    assert WRONG_AUTH_KEY not in repr(result) and snmpd_server.v3_priv_password not in repr(result)
    assert result.data == {}


def test_unknown_v3_user_is_refused(snmpd_server: SnmpAgent) -> None:
    creds = v3(snmpd_server, user="nobody")
    result = probe_once(SnmpOptions(credentials(creds), timeout=1.0, retries=0),
                        target(snmpd_server, "v3"))  # fmt: skip
    assert result.status is ProbeStatus.REFUSED
    assert result.error is not None and "unknown user (unknownUserName)" in result.error


def test_wrong_v3_priv_key_looks_like_no_agent(snmpd_server: SnmpAgent) -> None:
    # net-snmp drops what it cannot decrypt without a report: only a timeout comes back.
    creds = v3(snmpd_server, priv_key=Secret("wrong-priv-key-9d2e"))
    result = probe_once(SnmpOptions(credentials(creds), timeout=0.5, retries=0),
                        target(snmpd_server, "v3"))  # fmt: skip
    assert result.status is ProbeStatus.UNREACHABLE
    assert result.error is not None and "wrong privacy key or protocol" in result.error
    assert "wrong-priv-key-9d2e" not in result.error


def test_md5_without_allow_insecure_is_a_configuration_error(snmpd_server: SnmpAgent) -> None:
    creds = v3(snmpd_server, auth_protocol="MD5")
    result = probe_once(SnmpOptions(credentials(creds)), target(snmpd_server, "v3"))
    assert result.status is ProbeStatus.ERROR
    assert result.error == (
        "SNMP credential 'v3': auth protocol MD5 is insecure; use SHA-2 and AES, "
        "or set allow_insecure = true"
    )


def test_md5_with_allow_insecure_is_tried_and_logged(
    snmpd_server: SnmpAgent, caplog: pytest.LogCaptureFixture
) -> None:
    creds = v3(snmpd_server, auth_protocol="MD5", allow_insecure=True)
    with caplog.at_level(logging.WARNING, logger="pelihara.snmp"):
        result = probe_once(SnmpOptions(credentials(creds), timeout=1.0, retries=0),
                            target(snmpd_server, "v3"))  # fmt: skip
    assert result.status is ProbeStatus.REFUSED  # the fixture's user is SHA: wrong digest
    assert [r.getMessage() for r in caplog.records] == [
        "SNMP credential 'v3': MD5, DES or no privacy (allow_insecure)"
    ]
    assert snmpd_server.v3_auth_password not in caplog.text


def test_nothing_listening_is_unreachable(snmpd_server: SnmpAgent) -> None:
    port = free_port(tcp=False, udp=True)
    options = SnmpOptions(credentials(v2c(snmpd_server.community)), timeout=0.5, retries=0)
    result = probe_once(options, target(snmpd_server, "v2c", snmp_port=port))
    assert result.status is ProbeStatus.UNREACHABLE
    assert result.error == f"no SNMP answer from 127.0.0.1:{port} (wrong community, or no agent)"


def test_scalars_the_agent_lacks_are_none_not_their_successors(snmpd_server: SnmpAgent) -> None:
    # The scalars ride in the first GETBULK as GETNEXTs: for a missing one the agent answers
    # the next object (sysORTable, hrStorageTable), which must not be taken for it.
    options = SnmpOptions(credentials(v2c(LIMITED_COMMUNITY)))
    result = probe_once(options, target(snmpd_server, "v2c"))
    assert result.status is ProbeStatus.OK, result.error
    assert result.data["sysLocation"] is None and result.data["memory_total_bytes"] is None
    assert result.data["sysName"] == snmpd_server.sys_name
    assert result.data["storage"]  # the rest of the view still read


@pytest.mark.parametrize(
    "answer",
    [
        bytes.fromhex("00ff11"),  # not BER at all
        bytes.fromhex("300602010104017a"),  # a v2c header and no PDU
    ],
    ids=["not-ber", "no-pdu"],
)
def test_an_answer_that_does_not_decode_is_dropped_without_a_traceback(
    answer: bytes, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A broken agent: its datagram is dropped as pysnmp's v3 engine drops one, the request
    times out, and nothing (asyncio's "Exception in callback" included) prints a traceback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as broken:
        broken.bind(("127.0.0.1", 0))
        port = broken.getsockname()[1]

        def reply_garbage() -> None:
            _, sender = broken.recvfrom(65535)
            broken.sendto(answer, sender)

        replier = threading.Thread(target=reply_garbage, daemon=True)
        replier.start()
        options = SnmpOptions(credentials(v2c("public")), timeout=0.5, retries=0)
        agent = Target("broken", "broken.test.lab", ("127.0.0.1",), snmp_port=port,
                       snmp_credential="v2c")  # fmt: skip
        with caplog.at_level(logging.WARNING):
            result = probe_once(options, agent)
        replier.join(timeout=5)
    assert not replier.is_alive()  # the garbage was sent back
    assert result.status is ProbeStatus.UNREACHABLE
    assert "Traceback" not in capsys.readouterr().err and not caplog.records


@pytest.mark.parametrize(
    ("credential", "words"),
    [
        ("missing", "SNMP credential 'missing' is not in credentials.toml nor the environment"),
        (None, "the server names no snmp_credential in the inventory"),
    ],
)
def test_missing_credential_is_an_error_result(
    snmpd_server: SnmpAgent, credential: str | None, words: str
) -> None:
    result = probe_once(SnmpOptions(credentials()), target(snmpd_server, credential))
    assert result.status is ProbeStatus.ERROR and result.error == words


def test_inventory_version_must_match_the_credential(snmpd_server: SnmpAgent) -> None:
    options = SnmpOptions(credentials(v2c(snmpd_server.community)))
    result = probe_once(options, target(snmpd_server, "v2c", snmp_version="3"))
    assert result.status is ProbeStatus.ERROR
    assert result.error == "the inventory says SNMP v3 but credential 'v2c' is v2c"


def test_many_concurrent_probes_all_succeed(snmpd_server: SnmpAgent) -> None:
    options = SnmpOptions(credentials(v2c(snmpd_server.community)), max_in_flight=16)
    results = run(probe_with(options, *[target(snmpd_server, "v2c")] * 50))
    assert [r.status for r in results] == [ProbeStatus.OK] * 50, {r.error for r in results}
    interfaces = {json.dumps(r.data["interfaces"]) for r in results}
    assert len(interfaces) == 1


def test_same_v3_user_with_other_keys_does_not_disturb_the_right_one(
    snmpd_server: SnmpAgent,
) -> None:
    # pysnmp keeps one key set per user name in an engine: the probe separates them.
    right = v3(snmpd_server, name="right")
    wrong = v3(snmpd_server, name="wrong", auth_key=Secret(WRONG_AUTH_KEY))
    options = SnmpOptions(credentials(right, wrong), timeout=1.0, retries=0)
    targets = [target(snmpd_server, name) for name in ["right", "wrong"] * 5]
    results = run(probe_with(options, *targets))
    assert [r.status for r in results] == [ProbeStatus.OK, ProbeStatus.REFUSED] * 5
    v2_and_v3 = credentials(v2c(snmpd_server.community), right)
    mixed = run(probe_with(SnmpOptions(v2_and_v3), target(snmpd_server, "v2c"),
                           target(snmpd_server, "right")))  # fmt: skip
    assert [r.status for r in mixed] == [ProbeStatus.OK, ProbeStatus.OK]
