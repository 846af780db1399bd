"""SNMPv3 through what can happen on the wire: pelihara's `SnmpProbe` (its `Dispatcher`)
against the real net-snmp snmpd, through a UDP relay that alters, drops, duplicates, replays
or injects datagrams, or answers from elsewhere (tests.realservers.udp_relay).

The agent is always the real snmpd (tests.realservers.snmpd) and its answers the real ones;
the relay is only the path. What the relay injects in place of an answer is built here from
the real answer (its msgID, engine ID, boots and time; its ScopedPDU decrypted with the
user's own keys), with `snmp_ber`'s encoders and pyasn1's for the PDU, in the shapes of
RFC 3412 6 and RFC 3414 2.4 that net-snmp sends. The user is the fixture's SHA/AES one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pysnmp.proto.api import v2c
from pysnmp.proto.rfc1902 import Counter32, ObjectName

from pelihara.collector.credentials import Secret
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.snmp import SnmpOptions, SnmpProbe
from pelihara.collector.probes.snmp_auth import usm_user
from pelihara.collector.probes.snmp_ber import integer, octets, sequence
from pelihara.collector.probes.snmp_dispatch import NOT_IN_TIME_WINDOW, UNKNOWN_ENGINE_ID
from pelihara.collector.probes.snmp_usm import (
    AUTH,
    MAX_SIZE,
    PRIV,
    USM,
    Incoming,
    parse,
    plaintext,
    read_scoped_pdu,
)
from tests.collector.test_snmp_probe import (
    WRONG_AUTH_KEY,
    assert_sees_the_fixture,
    credentials,
    probe_once,
    run,
    target,
)
from tests.collector.test_snmp_v3 import v3_user
from tests.realservers.snmpd import (
    ENGINE_BOOTS_OID,
    ENGINE_ID_OID,
    SYS_NAME_OID,
    V3_USERS,
    SnmpAgent,
    restart_snmpd,
    running_snmpd,
    snmpget,
    start_snmpd,
)
from tests.realservers.udp_relay import UdpRelay

USER = V3_USERS[0]  # SHA / AES-128
WRONG_DIGESTS = "1.3.6.1.6.3.15.1.1.5.0"  # usmStatsWrongDigests.0 (RFC 3414 5)
DROPPED = "dropped an SNMPv3 message from 127.0.0.1: "
NOT_OURS = DROPPED + "its digest is not our user's (wrong key, or altered)"
NO_REQUEST = DROPPED + "no request of its msgID"


@pytest.fixture
def relay(snmpd_server: SnmpAgent) -> Iterator[UdpRelay]:
    with UdpRelay((snmpd_server.host, snmpd_server.port)) as path:
        yield path
    assert path.errors == []  # every hook ran without an exception


def options(timeout: float = 0.5, retries: int = 0, **changes: Any) -> SnmpOptions:
    """The fixture user's credential; only the system scalars (one GETBULK) unless TABLES."""
    values: dict[str, Any] = {"tables": (), **changes}
    return SnmpOptions(credentials(v3_user(USER)), timeout=timeout, retries=retries, **values)


def through(relay: UdpRelay, agent: SnmpAgent) -> Target:
    return target(agent, USER.name, snmp_port=relay.port)


def authenticated(data: bytes) -> bool:
    return bool(parse(data).flags & AUTH)


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes((data[at] ^ 0x01,)) + data[at + 1 :]


def unauthenticated(incoming: Incoming, scoped: bytes, engine_id: bytes | None = None) -> bytes:
    """A message as INCOMING's header says (msgID, engine ID or ENGINE_ID, boots, time, user),
    noAuthNoPriv, carrying SCOPED (a plaintext ScopedPDU's encoding)."""
    flags = octets(b"\x00")
    header = sequence(integer(incoming.msg_id), integer(MAX_SIZE), flags, integer(USM))
    engine = incoming.engine_id if engine_id is None else engine_id
    parameters = sequence(
        octets(engine), integer(incoming.boots), integer(incoming.time),
        octets(incoming.user), octets(b""), octets(b""),
    )  # fmt: skip
    return sequence(integer(3), header, octets(parameters), scoped)


def report(oid: str) -> bytes:
    """A Report-PDU of one usmStats counter, as an agent sends for a request it refuses."""
    pdu = v2c.ReportPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 0)
    v2c.apiPDU.set_varbinds(pdu, [(ObjectName(oid), Counter32(1))])
    return bytes(encoder.encode(pdu))


def reported(data: bytes) -> str | None:
    """The counter a plaintext (unencrypted) Report carries, or None for anything else."""
    incoming = parse(data)
    if incoming.flags & PRIV:  # encrypted: a response
        return None
    _, _, pdu = read_scoped_pdu(incoming.data)
    if pdu[0] != 0xA8:
        return None
    decoded, _ = decoder.decode(pdu, asn1Spec=v2c.ReportPDU())
    return str(v2c.apiPDU.get_varbinds(decoded)[0][0])


def decrypted(data: bytes) -> bytes:
    """The ScopedPDU of an authPriv answer, decrypted with the fixture user's own keys."""
    incoming = parse(data)
    user = usm_user(v3_user(USER))
    return plaintext(incoming, user, user.keys(incoming.engine_id))


async def in_turn(probe: SnmpProbe, *steps: Target | Callable[[], None]) -> list[ProbeResult]:
    """PROBE on each target in turn, running each callable (a change on the path or the
    agent) in between; the probe is closed at the end."""
    results = []
    try:
        for step in steps:
            if isinstance(step, Target):
                results.append(await probe.probe(step))
            else:
                step()
    finally:
        await probe.close()
    return results


def dropped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [m for m in caplog.messages if m.startswith("dropped ")]


def assert_unanswered(result: ProbeResult, relay: UdpRelay) -> None:
    assert result.status is ProbeStatus.UNREACHABLE, result.error
    assert result.error == (
        f"no SNMP answer from 127.0.0.1:{relay.port} (wrong privacy key or protocol, or no agent)"
    )
    assert result.data == {}


# --- 1. altered on the way --------------------------------------------------------------


def altered(data: bytes, where: str) -> bytes:
    """DATA with one bit flipped: in the encryptedPDU (its last octet) or in the digest."""
    incoming = parse(data)
    if where == "encrypted":
        assert incoming.flags & PRIV  # the message ends with the encryptedPDU's octets
        return flipped(data, len(data) - 1)
    return flipped(data, incoming.auth_at[0])


@pytest.mark.parametrize("where", ["encrypted", "digest"])
def test_a_response_altered_on_the_way_is_dropped_and_the_request_times_out(
    snmpd_server: SnmpAgent, relay: UdpRelay, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    relay.to_client = lambda data: [altered(data, where) if authenticated(data) else data]
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        result = probe_once(options(), through(relay, snmpd_server))
    assert_unanswered(result, relay)
    assert sum(authenticated(a) for a in relay.answers) == 1  # the agent did answer
    assert dropped(caplog) == [NOT_OURS]


def test_a_response_altered_once_is_dropped_and_the_retry_succeeds(
    snmpd_server: SnmpAgent, relay: UdpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[bytes] = []

    def alter_the_first(data: bytes) -> list[bytes]:
        if not authenticated(data):
            return [data]
        seen.append(data)
        return [altered(data, "encrypted") if len(seen) == 1 else data]

    relay.to_client = alter_the_first
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        result = probe_once(options(retries=1, tables=None), through(relay, snmpd_server))
    assert_sees_the_fixture(result, snmpd_server)
    assert dropped(caplog) == [NOT_OURS]
    sent = [parse(r) for r in relay.requests if authenticated(r)]
    assert sent[0].msg_id != sent[1].msg_id  # the retry is a new message (RFC 3412)
    assert sent[0].data != sent[1].data  # a new salt: not the same ciphertext again


# --- 2. replayed and duplicated ---------------------------------------------------------


def replaying(relay: UdpRelay) -> Callable[[], None]:
    """From now on, each authenticated answer is withheld and the relay sends in its place
    the next one of those it has relayed so far (an earlier request's, replayed)."""

    def start() -> None:
        earlier = iter([a for a in relay.answers if authenticated(a)])
        relay.to_client = lambda data: [next(earlier, b"")] if authenticated(data) else [data]

    return start


def test_an_earlier_requests_answer_replayed_is_not_taken_for_a_later_request(
    snmpd_server: SnmpAgent, relay: UdpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    agent = through(relay, snmpd_server)
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        first, second = run(in_turn(SnmpProbe(options()), agent, replaying(relay), agent))
    assert first.status is ProbeStatus.OK and first.data["sysName"] == snmpd_server.sys_name
    # The replay is authentic and inside the time window: only its msgID tells it apart.
    assert_unanswered(second, relay)
    assert dropped(caplog) == [NO_REQUEST]


def test_a_replayed_answer_of_the_same_msgid_and_another_request_id_is_not_taken(
    snmpd_server: SnmpAgent, relay: UdpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    """As if the collector was restarted and its msgIDs came round to the same numbers: the
    second probe's msgIDs are made those of the first (a private field set on purpose), so
    the replayed answer matches a pending msgID and only its request-id tells it apart."""
    agent = through(relay, snmpd_server)
    first_probe, second_probe = SnmpProbe(options()), SnmpProbe(options())
    dispatchers = [p._requesters._dispatcher for p in (first_probe, second_probe)]
    dispatchers[1]._msg_id = dispatchers[0]._msg_id
    [first] = run(in_turn(first_probe, agent))
    replaying(relay)()
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        [second] = run(in_turn(second_probe, agent))
    assert first.status is ProbeStatus.OK, first.error
    sent = [[parse(r).msg_id for r in relay.requests if authenticated(r)][i] for i in (0, 1)]
    assert sent[0] == sent[1]  # the same msgID twice: the replay reached the msgID check
    assert_unanswered(second, relay)
    assert dropped(caplog) == [DROPPED + "a response of another request-id than the request's"]


def test_duplicated_answers_are_dropped_without_an_error(
    snmpd_server: SnmpAgent, relay: UdpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    def thrice(data: bytes) -> list[bytes]:
        relay.send_to_client(data, delay=0.05)  # and once more, late
        return [data, data]

    async def read_and_wait_for_every_copy() -> ProbeResult:
        probe = SnmpProbe(options(tables=None))
        try:
            result = await probe.probe(through(relay, snmpd_server))
            for _ in range(300):  # the probe's socket stays open until the last copy came
                if len(dropped(caplog)) >= 2 * len(relay.answers):
                    break
                await asyncio.sleep(0.01)
            return result
        finally:
            await probe.close()

    relay.to_client = thrice
    with caplog.at_level(logging.DEBUG):
        result = run(read_and_wait_for_every_copy())
    assert_sees_the_fixture(result, snmpd_server)
    assert len(relay.answers) >= 3  # discovery and at least two GETBULKs
    # the first copy of each answer is taken, the two others dropped
    assert dropped(caplog) == [NO_REQUEST] * 2 * len(relay.answers)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_late_answer_to_a_retried_request_is_dropped_and_the_retrys_answer_taken(
    snmpd_server: SnmpAgent, relay: UdpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    held: list[bytes] = []  # the first answer, held back until the retry goes out
    released: list[bytes] = []

    def hold_the_first(data: bytes) -> list[bytes]:
        if authenticated(data) and not held:
            held.append(data)
            return []
        return [data]

    def release_before_the_retry(data: bytes) -> list[bytes]:
        if held and authenticated(data) and not released:
            released.append(held[0])
            relay.send_to_client(held[0])  # the late answer reaches the client first
        return [data]

    relay.to_client, relay.to_server = hold_the_first, release_before_the_retry
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        result = probe_once(options(retries=1), through(relay, snmpd_server))
    assert result.status is ProbeStatus.OK and result.data["sysName"] == snmpd_server.sys_name
    assert released  # the retry did go out, after the late answer
    assert dropped(caplog) == [NO_REQUEST]  # the late answer: its msgID no longer pending


# --- 3. unauthenticated in place of the answer ------------------------------------------


def test_an_unauthenticated_wrong_digest_report_in_place_of_the_answer_is_refused(
    snmpd_server: SnmpAgent, relay: UdpRelay
) -> None:
    def refusal(data: bytes) -> list[bytes]:
        if not authenticated(data):
            return [data]
        incoming = parse(data)
        return [unauthenticated(incoming, sequence(octets(incoming.engine_id), octets(b""),
                                                   report(WRONG_DIGESTS)))]  # fmt: skip

    relay.to_client = refusal
    result = probe_once(options(), through(relay, snmpd_server))
    assert result.status is ProbeStatus.REFUSED
    assert result.error == (
        f"SNMP v3 refused by 127.0.0.1:{relay.port}: wrong auth key or auth protocol (wrongDigest)"
    )


def test_an_unauthenticated_response_in_place_of_an_authpriv_answer_is_dropped(
    snmpd_server: SnmpAgent, relay: UdpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    # The very answer, decrypted and sent noAuthNoPriv: right msgID, request-id and data.
    relay.to_client = lambda data: (
        [unauthenticated(parse(data), decrypted(data))] if authenticated(data) else [data]
    )
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        result = probe_once(options(), through(relay, snmpd_server))
    assert_unanswered(result, relay)
    assert dropped(caplog) == [DROPPED + "a response at another security level than the request's"]


# --- 4. from elsewhere ------------------------------------------------------------------


@pytest.mark.parametrize("via", ["other-port", "other-address"])
def test_an_answer_from_another_address_or_port_than_asked_is_dropped(
    snmpd_server: SnmpAgent, relay: UdpRelay, via: str, caplog: pytest.LogCaptureFixture
) -> None:
    def elsewhere(data: bytes) -> list[bytes]:
        if not authenticated(data):  # discovery as usual
            return [data]
        relay.send_to_client(data, via=via)  # the authentic answer, from elsewhere
        return []

    relay.to_client = elsewhere
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        result = probe_once(options(), through(relay, snmpd_server))
    assert_unanswered(result, relay)
    source = "127.0.0.2" if via == "other-address" else "127.0.0.1"
    assert dropped(caplog) == [NO_REQUEST.replace("127.0.0.1", source)]


# --- 5. the agent restarted -------------------------------------------------------------


def net_snmp_reads(agent: SnmpAgent, oid: str) -> str:
    answer = snmpget(agent, USER, oid)
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.strip().strip('"')


def test_the_agent_restarted_between_two_reads_of_one_probe_is_read_again() -> None:
    with running_snmpd("restarted") as started, UdpRelay((started.host, started.port)) as relay:
        agents = [started]
        boots = [int(net_snmp_reads(started, ENGINE_BOOTS_OID))]
        engine = net_snmp_reads(started, ENGINE_ID_OID)

        def restart() -> None:
            agents.append(restart_snmpd(agents[-1]))

        try:
            agent = through(relay, started)
            results = run(in_turn(SnmpProbe(options(timeout=1.0)), agent, restart, agent))
            boots.append(int(net_snmp_reads(agents[-1], ENGINE_BOOTS_OID)))
            assert net_snmp_reads(agents[-1], SYS_NAME_OID) == "restarted"
            assert net_snmp_reads(agents[-1], ENGINE_ID_OID) == engine
        finally:
            agents[-1].server.stop()
    assert [r.status for r in results] == [ProbeStatus.OK] * 2, [r.error for r in results]
    assert [r.data["sysName"] for r in results] == ["restarted"] * 2
    assert boots[1] == boots[0] + 1
    # The second read went through an authenticated notInTimeWindow report (a resync).
    assert [reported(a) for a in relay.answers if reported(a)] == [
        UNKNOWN_ENGINE_ID,  # the first read's discovery
        NOT_IN_TIME_WINDOW,
    ]
    assert authenticated([a for a in relay.answers if reported(a)][1])
    assert relay.errors == []


def test_an_agent_with_a_new_engine_id_on_the_same_port_is_read_after_rediscovery() -> None:
    with running_snmpd("old-engine") as old, UdpRelay((old.host, old.port)) as relay:
        agents = [old]

        def replace_the_agent() -> None:
            agents[-1].server.stop()
            agents.append(start_snmpd("new-engine", "pelihara-new", port=old.port))

        try:
            agent = through(relay, old)
            results = run(in_turn(SnmpProbe(options(timeout=1.0)), agent, replace_the_agent, agent))
            assert net_snmp_reads(agents[-1], SYS_NAME_OID) == "new-engine"
        finally:
            agents[-1].server.stop()
    assert [r.status for r in results] == [ProbeStatus.OK] * 2, [r.error for r in results]
    assert [r.data["sysName"] for r in results] == ["old-engine", "new-engine"]
    reports = [parse(a) for a in relay.answers if reported(a) == UNKNOWN_ENGINE_ID]
    assert len(reports) == 2  # the first discovery, then the new agent's report
    assert reports[0].engine_id != reports[1].engine_id == b"\x80\x00\x1f\x88\x04pelihara-new"
    assert relay.errors == []


# --- 6. discovery's engine ID -----------------------------------------------------------


@pytest.mark.parametrize(("size", "read"), [(4, False), (5, True)])
def test_discovery_answered_with_an_engine_id_too_short_is_dropped(
    snmpd_server: SnmpAgent, relay: UdpRelay, size: int, read: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The first discovery report is rewritten with the engine ID cut to SIZE octets: 4 is
    below SnmpEngineID's SIZE(5..32) (RFC 3411 5) and dropped; 5 is taken, the agent then
    answers unknownEngineID with its own, and the request goes through after rediscovery."""
    rewritten: list[bytes] = []

    def cut(data: bytes) -> list[bytes]:
        if rewritten or reported(data) != UNKNOWN_ENGINE_ID:
            return [data]
        incoming = parse(data)
        rewritten.append(unauthenticated(incoming, incoming.data, incoming.engine_id[:size]))
        return rewritten

    relay.to_client = cut
    with caplog.at_level(logging.DEBUG, logger="pelihara.snmp"):
        result = probe_once(options(), through(relay, snmpd_server))
    assert len(parse(rewritten[0]).engine_id) == size
    if read:
        assert result.status is ProbeStatus.OK and result.data["sysName"] == snmpd_server.sys_name
        assert [reported(a) for a in relay.answers].count(UNKNOWN_ENGINE_ID) == 2
        assert dropped(caplog) == []
    else:
        assert_unanswered(result, relay)
        assert dropped(caplog) == [DROPPED + "a discovery report with an engine ID of 4 octets"]


# --- 7. nothing secret in the logs ------------------------------------------------------


def secret_forms(value: bytes) -> list[str]:
    return [value.hex(), value.hex().upper(), repr(value), repr(value)[2:-1]]


@pytest.mark.parametrize("case", ["wrong-auth-key", "altered-answer"])
def test_no_password_nor_key_in_the_logs_or_the_result(
    snmpd_server: SnmpAgent, relay: UdpRelay, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    creds = v3_user(USER)
    if case == "wrong-auth-key":
        creds = v3_user(USER, auth_key=Secret(WRONG_AUTH_KEY))
    else:
        relay.to_client = lambda data: [altered(data, "digest") if authenticated(data) else data]
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="pelihara"):
        result = probe_once(SnmpOptions(credentials(creds), timeout=0.5, retries=0, tables=()),
                            through(relay, snmpd_server))  # fmt: skip
    assert result.status is (
        ProbeStatus.REFUSED if case == "wrong-auth-key" else ProbeStatus.UNREACHABLE
    )
    if case == "altered-answer":  # the dispatcher logged its drop: looked into below too
        assert dropped(caplog) == [NOT_OURS]
    engine_id = parse(relay.answers[0]).engine_id
    user = usm_user(creds)
    local = user.keys(engine_id)
    assert user.priv_key is not None
    keys = [user.auth_key, user.priv_key, local.auth, local.priv]
    secrets = [WRONG_AUTH_KEY, USER.auth_password, USER.priv_password]
    secrets += [form for key in keys for form in secret_forms(key)]
    logged = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {r.__dict__!r}" for r in caplog.records
    )
    for secret in secrets:
        assert secret not in logged
        assert secret not in repr(result)


# --- 8. closed with requests pending ----------------------------------------------------


def test_closing_the_probe_answers_its_pending_requests(
    snmpd_server: SnmpAgent, relay: UdpRelay
) -> None:
    relay.to_client = lambda data: []  # nothing comes back: every request stays pending

    async def close_while_pending() -> list[ProbeResult]:
        probe = SnmpProbe(options(timeout=30.0))
        agent = through(relay, snmpd_server)
        tasks = [asyncio.create_task(probe.probe(agent)) for _ in range(3)]
        while len(relay.requests) < 3:  # every discovery sent and waiting
            await asyncio.sleep(0.01)
        assert not any(task.done() for task in tasks)
        await probe.close()
        # answered by close, not by the 30 s timeout (the bound only keeps a bug from hanging)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert asyncio.all_tasks() == {asyncio.current_task()}  # no task left waiting
        return results

    results = run(close_while_pending())
    for result in results:
        assert_unanswered(result, relay)
