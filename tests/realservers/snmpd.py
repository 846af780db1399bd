"""net-snmp snmpd on 127.0.0.1 (UDP): v2c community, v3 users, a faked ENTITY-MIB.

The v3 users cover the protocol pairs pelihara accepts, by net-snmp's own names (which
pelihara's credentials accept as they are): SHA-1 or SHA-2 with AES-128 or AES-256. net-snmp's
AES-256 extends the key as draft-Blumenthal does. `snmpget` runs net-snmp's own client against
an agent, to compare pelihara's answers with the reference tool's.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.realservers.base import (
    RunningServer,
    free_port,
    make_temp_dir,
    removed_on_error,
    require_binary,
    start_process,
    start_retrying,
)

SNMPD = "snmpd"
PACKAGE = "snmpd"
SNMPGET = "snmpget"
CLIENT_PACKAGE = "snmp"

# Numeric OIDs without a leading dot (Debian ships no IETF MIB files).
SYS_NAME_OID = "1.3.6.1.2.1.1.5.0"
ENGINE_ID_OID = "1.3.6.1.6.3.10.2.1.1.0"  # SNMP-FRAMEWORK-MIB::snmpEngineID.0
ENGINE_BOOTS_OID = "1.3.6.1.6.3.10.2.1.2.0"  # SNMP-FRAMEWORK-MIB::snmpEngineBoots.0
ENT_DESCR_OID = "1.3.6.1.2.1.47.1.1.1.1.2.1"
ENT_SERIAL_OID = "1.3.6.1.2.1.47.1.1.1.1.11.1"
ENT_MODEL_OID = "1.3.6.1.2.1.47.1.1.1.1.13.1"

COMMUNITY = "public"
# A community whose view leaves out sysLocation and hrMemorySize (an agent lacking scalars),
# hrProcessorTable and the address tables (an agent lacking tables).
LIMITED_COMMUNITY = "limited"
V3_USER = "testuser"
V3_AUTH_PASSWORD = "authpass123"
V3_PRIV_PASSWORD = "privpass123"
SYS_NAME = "test-agent-1"
SYS_LOCATION = "test lab"
ENTITY_DESCR = "Test chassis"
ENTITY_SERIAL = "SN-TEST-0001"
ENTITY_MODEL = "MODEL-X"


@dataclass(frozen=True)
class V3User:
    """A v3 user of the test snmpd (authPriv), its protocols named as net-snmp names them."""

    name: str
    auth_protocol: str  # SHA (SHA-1), SHA-256, SHA-512
    priv_protocol: str  # AES (AES-128), AES-256 (draft-Blumenthal key extension)
    auth_password: str
    priv_password: str

    @property
    def pair(self) -> str:
        """A pytest id: the two protocols, e.g. "SHA-256/AES-256"."""
        return f"{self.auth_protocol}/{self.priv_protocol}"


def _user(name: str, auth: str, priv: str) -> V3User:
    """A user whose passwords are its own, so that keys mixed up between users fail."""
    return V3User(name, auth, priv, f"auth-{name}-pass", f"priv-{name}-pass")


# The first is the historical fixture user (SnmpAgent.v3_user and its passwords).
V3_USERS = (
    V3User(V3_USER, "SHA", "AES", V3_AUTH_PASSWORD, V3_PRIV_PASSWORD),
    _user("sha256aes128", "SHA-256", "AES"),
    _user("sha1aes256", "SHA", "AES-256"),
    _user("sha256aes256", "SHA-256", "AES-256"),
    _user("sha512aes256", "SHA-512", "AES-256"),
)


def _user_lines(users: tuple[V3User, ...]) -> str:
    lines = [
        f'createUser {u.name} {u.auth_protocol} "{u.auth_password}" '
        f'{u.priv_protocol} "{u.priv_password}"\nrouser {u.name} authPriv\n'
        for u in users
    ]
    return "".join(lines)


CONFIG = f"""\
agentAddress udp:{{host}}:{{port}}
rocommunity {COMMUNITY} 127.0.0.1
rocommunity {LIMITED_COMMUNITY} 127.0.0.1 -V limited
view limited included .1
view limited excluded .1.3.6.1.2.1.1.6
view limited excluded .1.3.6.1.2.1.25.2.2
view limited excluded .1.3.6.1.2.1.25.3.3
view limited excluded .1.3.6.1.2.1.4.20
view limited excluded .1.3.6.1.2.1.4.34
{{users}}sysName {SYS_NAME}
sysLocation "{SYS_LOCATION}"
[snmp] persistentDir {{dir}}/persist
[snmp] serverRecvBuf 4194304
# Debian's snmpd has no ENTITY-MIB: fake a physical entity with a serial number and model
override .{ENT_DESCR_OID} octet_str "{ENTITY_DESCR}"
override .{ENT_SERIAL_OID} octet_str "{ENTITY_SERIAL}"
override .{ENT_MODEL_OID} octet_str "{ENTITY_MODEL}"
"""


@dataclass(frozen=True)
class SnmpAgent:
    """What a test needs to query the running snmpd."""

    host: str
    port: int
    server: RunningServer
    community: str = COMMUNITY
    v3_user: str = V3_USER
    v3_auth_password: str = V3_AUTH_PASSWORD
    v3_priv_password: str = V3_PRIV_PASSWORD
    v3_auth_protocol: str = "SHA"  # HMAC-SHA-96 (usmHMACSHAAuthProtocol)
    v3_priv_protocol: str = "AES"  # CFB128-AES-128 (usmAesCfb128Protocol)
    sys_name: str = SYS_NAME
    sys_location: str = SYS_LOCATION
    entity_descr: str = ENTITY_DESCR
    entity_serial: str = ENTITY_SERIAL
    entity_model: str = ENTITY_MODEL
    sys_name_oid: str = SYS_NAME_OID
    entity_serial_oid: str = ENT_SERIAL_OID
    entity_model_oid: str = ENT_MODEL_OID
    v3_users: tuple[V3User, ...] = field(default=V3_USERS, repr=False)
    engine_id: str | None = None  # net-snmp's `engineID` text; None: random per start


def _config(
    port: int, directory: Path, sys_name: str, engine_id: str | None, users: tuple[V3User, ...]
) -> str:
    config = CONFIG.format(host="127.0.0.1", port=port, dir=directory, users=_user_lines(users))
    config = config.replace(f"sysName {SYS_NAME}", f"sysName {sys_name}")
    # Without it net-snmp makes a random engine ID, kept in the (fresh) persistent dir.
    return config + (f"engineID {engine_id}\n" if engine_id else "")


def start_snmpd(
    sys_name: str = SYS_NAME,
    engine_id: str | None = None,
    v3_users: tuple[V3User, ...] = V3_USERS,
    port: int | None = None,
) -> SnmpAgent:
    """Start snmpd in the foreground on a free UDP port (or PORT); wait until it is bound.

    ENGINE_ID (text) makes the engine ID 80001F8804 followed by that text (format 4, RFC 3411).
    """
    port = port or free_port(tcp=False, udp=True)
    with removed_on_error(make_temp_dir("snmpd")) as directory:
        (directory / "persist").mkdir()  # fresh persistent dir: new engine ID, new USM keys
        conf = directory / "snmpd.conf"
        conf.write_text(_config(port, directory, sys_name, engine_id, v3_users), "ascii")
        server = _started(port, directory)
    return SnmpAgent(host=server.host, port=port, server=server, sys_name=sys_name,
                     v3_users=v3_users, engine_id=engine_id)  # fmt: skip


def _started(port: int, directory: Path) -> RunningServer:
    """snmpd on DIRECTORY's snmpd.conf, once its UDP port is bound. The state it saved there
    (engine ID, snmpEngineBoots, users) is read too: -C keeps snmpd from reading any file
    it is not given, its persistent one included."""
    log = directory / "snmpd.log"
    configs = [directory / "snmpd.conf", directory / "persist" / "snmpd.conf"]
    configs = [str(path) for path in configs if path.exists()]
    argv = [require_binary(SNMPD, PACKAGE), "-f", "-C", "-c", ",".join(configs)]
    argv += ["-m", "", "-Lf", str(log), "-p", str(directory / "snmpd.pid")]
    server = start_process("snmpd", argv, port, directory, log)
    server.wait_ready(lambda: server.listening("udp"))
    return server


def restart_snmpd(agent: SnmpAgent) -> SnmpAgent:
    """AGENT's snmpd stopped (SIGTERM: it saves its state) and started again on the same port,
    config and persistent dir: the same engine ID, its snmpEngineBoots one more."""
    agent.server.stop(keep_dir=True)
    return replace(agent, server=_started(agent.port, agent.server.dir))


@contextmanager
def running_snmpd(
    sys_name: str = SYS_NAME, engine_id: str | None = None, v3_users: tuple[V3User, ...] = V3_USERS
) -> Iterator[SnmpAgent]:
    """A running snmpd (answering as SYS_NAME, with V3_USERS) for the duration of the block."""
    agent = start_retrying(lambda: start_snmpd(sys_name, engine_id, v3_users))
    try:
        yield agent
    finally:
        agent.server.stop()


def snmpget(
    agent: SnmpAgent, user: V3User, oid: str, auth_password: str | None = None,
    priv_password: str | None = None, timeout: int = 1,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """net-snmp's own client: one v3 authPriv GET of OID, its value printed alone (-Oqv).

    The passwords default to USER's. No snmp.conf of this machine or user is read, and what
    the client keeps stays in the agent's temp dir (SNMPCONFPATH, SNMP_PERSISTENT_DIR).
    """
    argv = [require_binary(SNMPGET, CLIENT_PACKAGE), "-m", "", "-Oqv", "-v3", "-l", "authPriv"]
    argv += ["-u", user.name, "-a", user.auth_protocol, "-x", user.priv_protocol]
    argv += ["-A", auth_password or user.auth_password, "-X", priv_password or user.priv_password]
    argv += ["-t", str(timeout), "-r", "0", f"udp:{agent.host}:{agent.port}", oid]
    client_dir = agent.server.dir / "client"
    client_dir.mkdir(exist_ok=True)
    env = {**os.environ, "SNMPCONFPATH": str(client_dir), "SNMP_PERSISTENT_DIR": str(client_dir)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30, check=False)
