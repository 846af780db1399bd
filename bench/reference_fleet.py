"""The reference fleet of issue 15 (`bench/reference/fleet.sh`) and pelihara's view of it.

`running_reference_fleet(N, parent)` starts N loopback hosts (srv001.lab.test on 127.0.1.1,
...) with sshd, snmpd (v2c `public` and a v3 user, SHA/AES) and dnsmasq, and stops them at
the end whatever happens. `one_host_copy` makes a second fleet directory that names only
the first host (a copy of env.sh whose HOSTS_FILE has one line), for the reference
collector's one-host run. `pelihara_home` builds a PELIHARA_HOME whose inventory is the
fleet, with one SNMP credential given by environment: `v2c` (community) or `v3` (user,
SHA and AES keys from env.sh); the inventory's `snmp_version`/`snmp_credential` say which.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "bench" / "reference"
FLEET_SH = REFERENCE / "fleet.sh"
COLLECTOR = REFERENCE / "reference_collector.py"
PELIHARA = Path(sys.executable).parent / "pelihara"

Version = Literal["v2c", "v3"]
CREDENTIAL = {"v2c": "fleet", "v3": "fleetv3"}


@dataclass(frozen=True)
class ReferenceFleet:
    directory: Path
    env: dict[str, str]  # env.sh's exports
    hosts: list[tuple[str, str]]  # (address, fqdn)

    def hostname(self, index: int) -> str:
        return self.hosts[index][1].split(".")[0]

    def port(self, name: str) -> int:
        return int(self.env[name])


def read_env_sh(path: Path) -> dict[str, str]:
    """The `export K=V` lines of a fleet's env.sh."""
    found = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line.removeprefix("export ").split("=", 1)
            found[key] = value
    return found


def read_fleet(directory: Path) -> ReferenceFleet:
    env = read_env_sh(directory / "env.sh")
    lines = Path(env["HOSTS_FILE"]).read_text().splitlines()
    hosts = [(line.split()[0], line.split()[1]) for line in lines if len(line.split()) >= 2]
    return ReferenceFleet(directory, env, hosts)


@contextmanager
def running_reference_fleet(count: int, parent: Path) -> Iterator[ReferenceFleet]:
    """`fleet.sh up COUNT PARENT/fleet`; `fleet.sh down` at the end, whatever happens.

    PARENT must be traversable by the fleet's SSH user (fleet.sh checks): made 0755 here."""
    parent.chmod(0o755)
    directory = parent / "fleet"
    try:
        subprocess.run([str(FLEET_SH), "up", str(count), str(directory)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        yield read_fleet(directory)
    finally:
        if directory.exists():
            subprocess.run([str(FLEET_SH), "down", str(directory)], check=False,
                           stdout=subprocess.DEVNULL)  # fmt: skip


def one_host_copy(fleet: ReferenceFleet, directory: Path) -> ReferenceFleet:
    """A fleet directory naming only FLEET's first host: env.sh copied, HOSTS_FILE pointing to
    a one-line hosts file (the servers are FLEET's own; nothing is started)."""
    directory.mkdir(parents=True, exist_ok=True)
    hosts = directory / "hosts"
    address, fqdn = fleet.hosts[0]
    hosts.write_text(f"{address} {fqdn}\n")
    text = (fleet.directory / "env.sh").read_text()
    lines = [f"export HOSTS_FILE={hosts}" if line.startswith("export HOSTS_FILE=")
             else "export FLEET_N=1" if line.startswith("export FLEET_N=") else line
             for line in text.splitlines()]  # fmt: skip
    (directory / "env.sh").write_text("\n".join(lines) + "\n")
    return read_fleet(directory)


def inventory_csv(fleet: ReferenceFleet, path: Path, version: Version) -> Path:
    """The fleet as an inventory: this machine's CPU, memory and OS on every host (as
    bench.fleet.inventory_csv), the fleet's ports, and the SNMP credential of VERSION."""
    from pelihara.agent.gather import gather_facts

    facts = gather_facts()
    memory_gb = math.ceil((facts.memory_total_bytes or 0) / 1024**3)
    header = ("hostname,ip,domain,opd,cpu_cores,memory_gb,os,ssh_port,ssh_user,snmp_port,"
              "snmp_version,snmp_credential")  # fmt: skip
    snmp = f"{'3' if version == 'v3' else '2c'},{CREDENTIAL[version]}"
    rows = [
        f"{fqdn.split('.')[0]},{address},{fqdn},Dinas Uji,{facts.cpu.threads},{memory_gb},"
        f"{facts.os.id} {facts.os.version},{fleet.port('SSH_PORT')},{fleet.env['SSH_USER']},"
        f"{fleet.port('SNMP_PORT')},{snmp}"
        for address, fqdn in fleet.hosts
    ]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def credential_env(fleet: ReferenceFleet, version: Version) -> dict[str, str]:
    """The SNMP credential of VERSION as pelihara reads it from the environment
    (PELIHARA_SNMP_<NAME>_<FIELD>, README "Credentials")."""
    prefix = f"PELIHARA_SNMP_{CREDENTIAL[version].upper()}_"
    if version == "v2c":
        return {prefix + "COMMUNITY": fleet.env["SNMP_COMMUNITY"]}
    return {prefix + "VERSION": "3", prefix + "USER": fleet.env["SNMP_V3_USER"],
            prefix + "AUTH_PROTOCOL": "SHA", prefix + "AUTH_KEY": fleet.env["SNMP_V3_AUTH"],
            prefix + "PRIV_PROTOCOL": "AES128",
            prefix + "PRIV_KEY": fleet.env["SNMP_V3_PRIV"]}  # fmt: skip


def pelihara_home(fleet: ReferenceFleet, work: Path, version: Version) -> dict[str, str]:
    """A fresh PELIHARA_HOME (WORK/home-VERSION) with the fleet as its inventory; the
    environment that reaches the fleet with it (SSH key and SNMP credential by environment)."""
    home = work / f"home-{version}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PELIHARA_")}  # fmt: skip
    env |= {"PELIHARA_HOME": str(home), "PELIHARA_SSH_KEY_FILE": fleet.env["SSH_KEY"],
            **credential_env(fleet, version)}  # fmt: skip
    subprocess.run([str(PELIHARA), "init"], env=env, check=True, capture_output=True)
    csv_file = inventory_csv(fleet, work / f"inventory-{version}.csv", version)
    subprocess.run([str(PELIHARA), "inventory", "import", str(csv_file)],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return env


def verify_argv(fleet: ReferenceFleet, which: list[str], probes: str,
                concurrency: int) -> list[str]:  # fmt: skip
    """`pelihara verify WHICH --probe PROBES` against the fleet, JSON out."""
    return [str(PELIHARA), "verify", *which, "--probe", probes, "--concurrency", str(concurrency),
            "--known-hosts", fleet.env["KNOWN_HOSTS"], "--user", fleet.env["SSH_USER"],
            "--timeout", "10", "--resolver", f"127.0.0.1:{fleet.port('DNS_PORT')}",
            "--format", "json"]  # fmt: skip


def compiled() -> str:
    """Compile pelihara's modules to bytecode, as `pip install` does (an editable install
    under PYTHONDONTWRITEBYTECODE would compile them again in every process measured)."""
    import pelihara

    package = Path(pelihara.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return f"pelihara's bytecode compiled ({package})"
