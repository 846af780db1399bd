"""SNMPv3 side by side with net-snmp: every protocol pair, wrong keys, two engine IDs, many reads.

The agent is the real net-snmp snmpd (tests.realservers.snmpd) with one v3 user per protocol
pair; the reference client is net-snmp's own `snmpget`, run with the same user, protocols and
passwords. What pelihara reads must be what snmpget reads, and what snmpget is refused
pelihara must be refused too. These tests pin v3 while its request path and key handling
change for speed (issue 15): since then pelihara's own USM messages (`snmp_usm`,
`snmp_dispatch`) with pysnmp's key localisation and ciphers, no pysnmp engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from pelihara.collector.credentials import Secret, SnmpCredentials
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.snmp import SnmpOptions, SnmpProbe
from tests.collector.test_snmp_probe import (
    WRONG_AUTH_KEY,
    assert_sees_the_fixture,
    credentials,
    probe_once,
    probe_with,
    run,
    target,
)
from tests.realservers.snmpd import (
    ENGINE_ID_OID,
    SYS_NAME_OID,
    V3_USERS,
    SnmpAgent,
    V3User,
    running_snmpd,
    snmpget,
)

WRONG_PRIV_KEY = "wrong-priv-key-3e8a"
every_user = pytest.mark.parametrize("user", V3_USERS, ids=[u.pair for u in V3_USERS])


def v3_user(user: V3User, name: str | None = None, **changes: Any) -> SnmpCredentials:
    """pelihara's credential for USER: net-snmp's protocol names are taken as they are."""
    values: dict[str, Any] = {
        "user": user.name,
        "auth_protocol": user.auth_protocol,
        "auth_key": Secret(user.auth_password),
        "priv_protocol": user.priv_protocol,
        "priv_key": Secret(user.priv_password),
    }
    return SnmpCredentials(name=name or user.name, version="3", **{**values, **changes})


def net_snmp_value(agent: SnmpAgent, user: V3User, oid: str) -> str:
    """What net-snmp's snmpget reads, without the quotes -Oqv puts around a string."""
    answer = snmpget(agent, user, oid)
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.strip().strip('"')


def refused(result: ProbeResult, words: str, *secrets: str) -> None:
    assert result.error is not None and words in result.error, result.error
    assert result.data == {}
    for secret in secrets:
        assert secret not in repr(result)


# --- every protocol pair ----------------------------------------------------------------


@every_user
def test_v3_reads_what_net_snmp_reads(snmpd_server: SnmpAgent, user: V3User) -> None:
    result = probe_once(SnmpOptions(credentials(v3_user(user))), target(snmpd_server, user.name))
    assert_sees_the_fixture(result, snmpd_server)
    assert result.data["sysName"] == net_snmp_value(snmpd_server, user, SYS_NAME_OID)


@every_user
def test_v3_wrong_auth_key_is_refused_by_both(snmpd_server: SnmpAgent, user: V3User) -> None:
    answer = snmpget(snmpd_server, user, SYS_NAME_OID, auth_password=WRONG_AUTH_KEY)
    assert answer.returncode != 0 and "Authentication failure" in answer.stderr, answer
    creds = v3_user(user, auth_key=Secret(WRONG_AUTH_KEY))
    options = SnmpOptions(credentials(creds), timeout=1.0, retries=0)
    result = probe_once(options, target(snmpd_server, user.name))
    assert result.status is ProbeStatus.REFUSED
    refused(result, "wrong auth key", WRONG_AUTH_KEY, user.priv_password)


@every_user
def test_v3_wrong_priv_key_fails_for_both(snmpd_server: SnmpAgent, user: V3User) -> None:
    # net-snmp drops what it cannot decrypt without a report: both clients see a timeout.
    answer = snmpget(snmpd_server, user, SYS_NAME_OID, priv_password=WRONG_PRIV_KEY)
    assert answer.returncode != 0 and "Timeout" in answer.stderr, answer
    creds = v3_user(user, priv_key=Secret(WRONG_PRIV_KEY))
    options = SnmpOptions(credentials(creds), timeout=0.5, retries=0)
    result = probe_once(options, target(snmpd_server, user.name))
    assert result.status is ProbeStatus.UNREACHABLE
    refused(result, "wrong privacy key or protocol", WRONG_PRIV_KEY, user.auth_password)


@pytest.mark.parametrize(
    ("auth", "priv", "works"),
    [
        ("SHA", "AES256", True),  # draft-Blumenthal, as net-snmp extends the key
        ("SHA", "AES256C", False),  # Reeder's extension (Cisco): other key bytes
        ("SHA-256", "AES256C", True),  # a SHA-256 key is long enough: nothing is extended
    ],
)
def test_aes256_key_extension_is_net_snmps(
    snmpd_server: SnmpAgent, auth: str, priv: str, works: bool
) -> None:
    [user] = [u for u in V3_USERS if u.pair == f"{auth}/AES-256"]
    creds = v3_user(user, priv_protocol=priv)
    options = SnmpOptions(credentials(creds), timeout=0.5, retries=0)
    result = probe_once(options, target(snmpd_server, user.name))
    assert (result.status is ProbeStatus.OK) is works, result.error


# --- two engine IDs ---------------------------------------------------------------------


# One user name and the same passwords on both agents, under other protocols on each: keys
# made from a password must be made again for another hash (a cache keyed by the password
# alone would hand one of them the other's keys).
SHARED = (
    V3User("shared", "SHA", "AES", "shared-auth-pass", "shared-priv-pass"),
    V3User("shared", "SHA-512", "AES-256", "shared-auth-pass", "shared-priv-pass"),
)


@pytest.fixture(scope="module")
def two_engines() -> Iterator[tuple[SnmpAgent, SnmpAgent]]:
    """Two agents with the same users and passwords and different engine IDs: one set by
    `engineID`, one net-snmp's random default. v3 keys are localised to the engine ID, so
    one password gives each agent different keys. Each also has its own SHARED user."""
    with (
        running_snmpd("engine-a", "pelihara-a", V3_USERS + SHARED[:1]) as first,
        running_snmpd("engine-b", None, V3_USERS + SHARED[1:]) as second,
    ):
        yield first, second


def test_the_two_agents_have_different_engine_ids(
    two_engines: tuple[SnmpAgent, SnmpAgent],
) -> None:
    user = V3_USERS[0]
    # -Oqv prints an OCTET STRING that is not text as hex bytes, each followed by a space.
    first, second = (net_snmp_value(a, user, ENGINE_ID_OID).strip() for a in two_engines)
    assert first == "80 00 1F 88 04 " + " ".join(f"{b:02X}" for b in b"pelihara-a")
    assert second.startswith("80 00 1F 88 80 ")  # net-snmp's random engine ID (format 128)
    assert first != second


def engine_targets(agents: tuple[SnmpAgent, ...], user: V3User) -> list[Target]:
    return [target(a, user.name, hostname=a.sys_name) for a in agents]


async def read_three_times(options: SnmpOptions, targets: list[Target]) -> list[ProbeResult]:
    """Three rounds of reading every target at once, all with ONE probe."""
    probe = SnmpProbe(options)
    results: list[ProbeResult] = []
    try:
        for _ in range(3):
            results += await asyncio.gather(*(probe.probe(t) for t in targets))
    finally:
        await probe.close()
    return results


@every_user
def test_one_probe_reads_two_engine_ids_at_once_three_times(
    two_engines: tuple[SnmpAgent, SnmpAgent], user: V3User
) -> None:
    options = SnmpOptions(credentials(v3_user(user)))
    results = run(read_three_times(options, engine_targets(two_engines, user)))
    for result, agent in zip(results, list(two_engines) * 3, strict=True):
        assert_sees_the_fixture(result, agent)
        assert result.data["sysName"] == net_snmp_value(agent, user, SYS_NAME_OID)


def test_one_probe_reads_two_v3_users_of_one_agent(snmpd_server: SnmpAgent) -> None:
    users = V3_USERS[:2]
    options = SnmpOptions(credentials(*(v3_user(u) for u in users)), timeout=1.0, retries=0)
    results = run(probe_with(options, *(target(snmpd_server, u.name) for u in users)))
    assert [r.status for r in results] == [ProbeStatus.OK] * 2, [r.error for r in results]


def test_one_probe_reads_every_user_on_two_engine_ids_at_once(
    two_engines: tuple[SnmpAgent, SnmpAgent],
) -> None:
    # Ten (user, engine ID) key pairs localised in one engine, their requests interleaved.
    options = SnmpOptions(credentials(*(v3_user(u) for u in V3_USERS)))
    targets = [t for u in V3_USERS for t in engine_targets(two_engines, u)]
    results = run(read_three_times(options, targets))
    assert [r.status for r in results] == [ProbeStatus.OK] * 30, {r.error for r in results}
    assert [r.data["sysName"] for r in results] == ["engine-a", "engine-b"] * 15


def test_one_user_name_one_password_other_protocols_on_two_agents(
    two_engines: tuple[SnmpAgent, SnmpAgent],
) -> None:
    creds = [v3_user(user, name=f"shared-{i}") for i, user in enumerate(SHARED)]
    targets = [
        target(a, c.name, hostname=a.sys_name) for a, c in zip(two_engines, creds, strict=True)
    ]
    results = run(read_three_times(SnmpOptions(credentials(*creds)), targets))
    expected = [
        net_snmp_value(a, u, SYS_NAME_OID) for a, u in zip(two_engines, SHARED, strict=True)
    ]
    assert [r.data.get("sysName") for r in results] == expected * 3, [r.error for r in results]
    assert expected == ["engine-a", "engine-b"]


# --- many reads at once -----------------------------------------------------------------


@every_user
def test_many_concurrent_v3_probes_all_succeed(snmpd_server: SnmpAgent, user: V3User) -> None:
    options = SnmpOptions(credentials(v3_user(user)), max_in_flight=16)
    results = run(probe_with(options, *[target(snmpd_server, user.name)] * 20))
    assert [r.status for r in results] == [ProbeStatus.OK] * 20, {r.error for r in results}
    assert {r.data["sysName"] for r in results} == {snmpd_server.sys_name}
