"""A simulated fleet on loopback for the snapshot benchmark (bench/snapshot_fleet.py; the verify
benchmark runs on issue 15's reference fleet instead, bench/reference_fleet.py): N hosts on
127.0.x.y, each answering SSH (one sshd per 16 addresses: sshd's limit), SNMP (one snmpd bound
to every address) and DNS (dnsmasq with hNNN.fleet.lab A and PTR records), plus a matching
pelihara inventory.

Every simulated host is this machine: facts, memory and CPU are the same everywhere, and the
hostname check mismatches by construction (the benchmark measures the work, not the verdict).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_VENV = ROOT / ".bench-venv" / "bin"
PELIHARA = Path(sys.executable).parent / "pelihara"
SSHD = "/usr/sbin/sshd"
SNMPD = "/usr/sbin/snmpd"
DNSMASQ = "/usr/sbin/dnsmasq"
USER = "sshtest"
PER_SSHD = 16
ZONE = "fleet.lab"

SSHD_CONFIG = """\
Port {port}
{listen}
HostKey {dir}/host_ed25519
PidFile {dir}/sshd-{group}.pid
AuthorizedKeysFile {dir}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 400:30:800
MaxSessions 100
"""
SNMPD_CONFIG = """\
rocommunity public 127.0.0.0/8
sysName fleet
[snmp] persistentDir {dir}/snmp-persist
[snmp] serverRecvBuf 4194304
"""


@dataclass
class Fleet:
    addresses: list[str]
    directory: Path
    ssh_port: int
    snmp_port: int
    dns_port: int
    known_hosts: Path
    client_key: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def hostname(self, index: int) -> str:
        return f"h{index:03d}"


def addresses(count: int) -> list[str]:
    """127.0.1.10, 127.0.1.11, ... (200 a /24, never .0 or .255, never 127.0.0.1)."""
    return [f"127.0.{index // 200 + 1}.{index % 200 + 10}" for index in range(count)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def _wait(check: object, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up")


def _tcp_up(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _udp_bound(port: int) -> int:
    hex_port = f"{port:04X}"
    lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1].endswith(":" + hex_port))


def start_sshds(fleet: Fleet) -> None:
    host_line = keygen(fleet.directory / "host_ed25519")
    groups = [fleet.addresses[i : i + PER_SSHD] for i in range(0, len(fleet.addresses), PER_SSHD)]
    for group, members in enumerate(groups):
        listen = "\n".join(f"ListenAddress {a}" for a in members)
        config = fleet.directory / f"sshd-{group}.conf"
        config.write_text(SSHD_CONFIG.format(port=fleet.ssh_port, listen=listen,
                                             dir=fleet.directory, group=group))  # fmt: skip
        fleet.processes.append(subprocess.Popen([SSHD, "-D", "-f", str(config)]))
    lines = [f"[{a}]:{fleet.ssh_port} {host_line}" for a in fleet.addresses]
    fleet.known_hosts.write_text("\n".join(lines) + "\n")
    for members in groups:
        _wait(lambda m=members: _tcp_up(m[-1], fleet.ssh_port), "sshd")


def start_snmpd(fleet: Fleet) -> None:
    (fleet.directory / "snmp-persist").mkdir()
    config = fleet.directory / "snmpd.conf"
    config.write_text(SNMPD_CONFIG.format(dir=fleet.directory))
    endpoints = [f"udp:{a}:{fleet.snmp_port}" for a in fleet.addresses]
    argv = [SNMPD, "-f", "-C", "-c", str(config), "-m", "",
            "-Lf", str(fleet.directory / "snmpd.log"), *endpoints]  # fmt: skip
    fleet.processes.append(subprocess.Popen(argv))
    _wait(lambda: _udp_bound(fleet.snmp_port) >= len(fleet.addresses), "snmpd on every address")


def start_dnsmasq(fleet: Fleet) -> None:
    hosts = fleet.directory / "hosts"
    hosts.write_text("".join(f"{a} {fleet.hostname(i)}.{ZONE}\n"
                             for i, a in enumerate(fleet.addresses)))  # fmt: skip
    argv = [DNSMASQ, "--keep-in-foreground", "--log-facility=/dev/null", "--conf-file=/dev/null",
            f"--port={fleet.dns_port}", "--listen-address=127.0.0.1", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--no-poll", "--user=root", "--group=root", "--pid-file=",
            f"--local=/{ZONE}/", "--local=/127.in-addr.arpa/", f"--addn-hosts={hosts}",
            "--dns-forward-max=1000", "--cache-size=10000"]  # fmt: skip
    fleet.processes.append(subprocess.Popen(argv))
    _wait(lambda: _tcp_up("127.0.0.1", fleet.dns_port), "dnsmasq")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def running_fleet(count: int) -> Iterator[Fleet]:
    """Start the fleet; stop every server by PID at the end, whatever happens."""
    for binary in (SSHD, SNMPD, DNSMASQ):
        if not Path(binary).exists():
            raise SystemExit(f"{binary} missing: run scripts/test once as root (Debian packages)")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="pelihara-fleet-"))
    directory.chmod(0o755)  # sshd reads authorized_keys as the test user
    fleet = Fleet(addresses(count), directory, free_port(), free_port(), free_port(),
                  directory / "known_hosts", directory / "client_ed25519")  # fmt: skip
    try:
        client = keygen(fleet.client_key)
        authorized = directory / "authorized_keys"
        authorized.write_text(client + "\n")
        authorized.chmod(0o644)
        start_sshds(fleet)
        start_snmpd(fleet)
        start_dnsmasq(fleet)
        yield fleet
    finally:
        _stop(fleet.processes)
        shutil.rmtree(directory, ignore_errors=True)


def inventory_csv(fleet: Fleet, path: Path) -> Path:
    """The fleet as an inventory: this machine's CPU, memory and OS on every host."""
    from pelihara.agent.gather import gather_facts

    facts = gather_facts()
    memory_gb = math.ceil((facts.memory_total_bytes or 0) / 1024**3)
    header = ("hostname,ip,domain,opd,cpu_cores,memory_gb,os,ssh_port,ssh_user,snmp_port,"
              "snmp_version,snmp_credential")  # fmt: skip
    rows = [
        f"{fleet.hostname(i)},{a},{fleet.hostname(i)}.{ZONE},Dinas Uji,{facts.cpu.threads},"
        f"{memory_gb},{facts.os.id} {facts.os.version},{fleet.ssh_port},{USER},"
        f"{fleet.snmp_port},2c,fleet"
        for i, a in enumerate(fleet.addresses)
    ]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def environment(fleet: Fleet, home: Path) -> dict[str, str]:
    """What pelihara needs to reach the fleet (credentials by environment)."""
    env = {**os.environ, "PELIHARA_HOME": str(home), "PELIHARA_SSH_KEY_FILE": str(fleet.client_key),
           "PELIHARA_SNMP_FLEET_COMMUNITY": "public"}  # fmt: skip
    env.pop("PELIHARA_TSDB", None)
    return env


def fleet_home(fleet: Fleet, work: Path) -> dict[str, str]:
    """A fresh PELIHARA_HOME under WORK with the fleet imported as its inventory; the
    environment that reaches the fleet with it."""
    env = environment(fleet, work / "home")
    subprocess.run([str(PELIHARA), "init"], env=env, check=True, capture_output=True)
    csv_file = inventory_csv(fleet, work / "fleet.csv")
    subprocess.run([str(PELIHARA), "inventory", "import", str(csv_file)],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return env


def ansible_command(fleet: Fleet, work: Path, concurrency: int,
                    module: str = "setup") -> tuple[list[str], dict[str, str]]:  # fmt: skip
    """`ansible all -m MODULE` over the fleet (argv and environment): the same key, strict
    host-key checking and parallelism as pelihara; Ansible's own SSH defaults otherwise."""
    lines = [f"{fleet.hostname(i)} ansible_host={a} ansible_port={fleet.ssh_port}"
             for i, a in enumerate(fleet.addresses)]  # fmt: skip
    inventory = work / "ansible.ini"
    inventory.write_text("[fleet]\n" + "\n".join(lines) + "\n\n[fleet:vars]\n"
                         f"ansible_user={USER}\nansible_ssh_private_key_file={fleet.client_key}\n"
                         "ansible_python_interpreter=/usr/bin/python3\n"
                         f"ansible_ssh_common_args='-o UserKnownHostsFile={fleet.known_hosts} "
                         "-o StrictHostKeyChecking=yes'\n")  # fmt: skip
    argv = [str(BASELINE_VENV / "ansible"), "all", "-i", str(inventory), "-m", module,
            "-f", str(concurrency), "-o"]  # fmt: skip
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp")}  # fmt: skip
    return argv, env


def verdict(ok: bool) -> str:
    return "met   " if ok else "MISSED"
