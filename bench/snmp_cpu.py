"""The SNMP probe's client CPU a host, SNMPv3 beside v2c, over agents with their own engine IDs.

    .venv/bin/python -m bench.snmp_cpu [--agents 100] [--repeat 3]

Starts AGENTS snmpd's, each on one loopback address (127.0.9.1 ...) with its own engine ID, as
in a real fleet (fleet.sh's one snmpd on every address has one engine ID, which hides what v3
costs per agent: discovery, key localisation). Runs pelihara's SnmpProbe over them, one probe
(one v3 dispatcher) a run, with a v2c and a v3 credential (SHA, AES-128), for verify's tables
and for the scalars only; prints the CPU a host (process time, best of REPEAT runs) and the
v3/v2c ratio: v2c is the baseline, measured in the same run. Needs Debian's snmpd.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pelihara.collector.credentials import Credentials, Secret, SnmpCredentials, SshCredentials
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.snmp import SnmpOptions, SnmpProbe
from pelihara.collector.verify import SNMP_TABLES

SNMPD = "/usr/sbin/snmpd"
USER, AUTH, PRIV = "benchuser", "benchauth123", "benchpriv123"
CONFIG = f"""\
rocommunity public 127.0.0.0/8
createUser {USER} SHA "{AUTH}" AES "{PRIV}"
rouser {USER} authPriv
sysName bench-agent
[snmp] persistentDir {{dir}}
engineID pelihara-bench-{{number}}
"""
CREDENTIALS = Credentials(SshCredentials(), {
    "V2C": SnmpCredentials("v2c", "2c", community=Secret("public")),
    "V3": SnmpCredentials("v3", "3", user=USER, auth_protocol="SHA", auth_key=Secret(AUTH),
                          priv_protocol="AES", priv_key=Secret(PRIV)),
})  # fmt: skip


def free_udp_port(addresses: list[str]) -> int:
    """A UDP port free on every address (checked by binding)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
                    held.bind((address, port))
        except OSError:
            continue
        return port
    raise SystemExit("no free UDP port")


@contextmanager
def running_agents(count: int) -> Iterator[tuple[list[str], int]]:
    """COUNT snmpd's, one an address, each its own engine ID: (addresses, port)."""
    addresses = [f"127.0.9.{i}" for i in range(1, count + 1)]
    port = free_udp_port(addresses)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="pelihara-snmpcpu-") as work:
        try:
            for number, address in enumerate(addresses, 1):
                home = Path(work) / f"agent{number}"
                home.mkdir()
                (home / "snmpd.conf").write_text(CONFIG.format(dir=home, number=number))
                argv = [SNMPD, "-f", "-C", "-c", str(home / "snmpd.conf"), "-m", "",
                        "-Lf", str(home / "log"), f"udp:{address}:{port}"]  # fmt: skip
                processes.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
            asyncio.run(wait_answering(addresses, port))
            yield addresses, port
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=10)


async def wait_answering(addresses: list[str], port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        results = await probe_all(addresses, port, "V2C", ())
        if all(r.status is ProbeStatus.OK for r in results):
            return
        await asyncio.sleep(0.5)
    raise SystemExit("the agents did not all answer")


async def probe_all(
    addresses: list[str], port: int, credential: str, tables: tuple[str, ...]
) -> list[ProbeResult]:
    version = "3" if credential == "V3" else "2c"
    probe = SnmpProbe(SnmpOptions(CREDENTIALS, tables=tables))
    targets = [Target(f"h{i}", f"h{i}.bench", (address,), snmp_port=port,
                      snmp_version=version, snmp_credential=credential)
               for i, address in enumerate(addresses, 1)]  # fmt: skip
    try:
        return list(await asyncio.gather(*(probe.probe(t) for t in targets)))
    finally:
        await probe.close()


def cpu_a_host(addresses: list[str], port: int, credential: str, tables: tuple[str, ...],
               repeat: int) -> float:  # fmt: skip
    """ms of CPU a host, best of REPEAT runs (one probe a run)."""
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        results = asyncio.run(probe_all(addresses, port, credential, tables))
        runs.append(time.process_time() - started)
        failed = [r.error for r in results if r.status is not ProbeStatus.OK]
        if failed:
            raise SystemExit(f"{len(failed)} hosts failed with {credential}: {failed[0]}")
    return min(runs) * 1000 / len(addresses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, "-m", "bench.snmp_cpu", *sys.argv[1:]]))
    with running_agents(args.agents) as (addresses, port):
        asyncio.run(probe_all(addresses, port, "V3", ()))  # imports and first compile
        print(f"{args.agents} agents, each its own engine ID; ms of CPU a host")
        print(f"{'tables':<42} {'v2c':>6} {'v3':>6} {'v3/v2c':>7}")
        for label, tables in (("verify's: " + ",".join(SNMP_TABLES), SNMP_TABLES),
                              ("scalars only", ())):  # fmt: skip
            v2c = cpu_a_host(addresses, port, "V2C", tables, args.repeat)
            v3 = cpu_a_host(addresses, port, "V3", tables, args.repeat)
            print(f"{label:<42} {v2c:6.2f} {v3:6.2f} {v3 / v2c:7.2f}")


if __name__ == "__main__":
    main()
