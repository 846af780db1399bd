"""net-snmp snmpd on 127.0.0.1 (UDP): v2c community, a v3 SHA/AES user, a faked ENTITY-MIB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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

# Numeric OIDs without a leading dot (Debian ships no IETF MIB files).
SYS_NAME_OID = "1.3.6.1.2.1.1.5.0"
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
createUser {V3_USER} SHA "{V3_AUTH_PASSWORD}" AES "{V3_PRIV_PASSWORD}"
rouser {V3_USER} authPriv
sysName {SYS_NAME}
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


def start_snmpd(sys_name: str = SYS_NAME) -> SnmpAgent:
    """Start snmpd in the foreground on a free UDP port; wait until the port is bound."""
    snmpd = require_binary(SNMPD, PACKAGE)
    port = free_port(tcp=False, udp=True)
    with removed_on_error(make_temp_dir("snmpd")) as directory:
        (directory / "persist").mkdir()  # fresh persistent dir: new engine ID, new USM keys
        conf = directory / "snmpd.conf"
        config = CONFIG.format(host="127.0.0.1", port=port, dir=directory)
        conf.write_text(config.replace(f"sysName {SYS_NAME}", f"sysName {sys_name}"), "ascii")
        log = directory / "snmpd.log"
        argv = [snmpd, "-f", "-C", "-c", str(conf), "-m", "", "-Lf", str(log)]
        argv += ["-p", str(directory / "snmpd.pid")]
        server = start_process("snmpd", argv, port, directory, log)
        server.wait_ready(lambda: server.listening("udp"))
    return SnmpAgent(host=server.host, port=port, server=server, sys_name=sys_name)


@contextmanager
def running_snmpd(sys_name: str = SYS_NAME) -> Iterator[SnmpAgent]:
    """A running snmpd (answering as SYS_NAME) for the duration of the block."""
    agent = start_retrying(lambda: start_snmpd(sys_name))
    try:
        yield agent
    finally:
        agent.server.stop()
