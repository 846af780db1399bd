"""Verify (and collect) over a simulated fleet, beside Ansible's and pyinfra's fact gathering.

    .venv/bin/python -m bench.verify_fleet [--hosts 100] [--concurrency 32] [--repeat 3]

Needs the Debian packages of scripts/test and the test user; the baselines need
`bench/setup-baselines` (ansible-core and pyinfra in .bench-venv). Every tool gets the same
hosts, the same parallelism, the same SSH key and strict host-key checking.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.fleet import USER, Fleet, environment, inventory_csv, running_fleet

ROOT = Path(__file__).resolve().parents[1]
BASELINE_VENV = ROOT / ".bench-venv" / "bin"
PELIHARA = Path(sys.executable).parent / "pelihara"


@dataclass(frozen=True)
class Measured:
    name: str
    wall: float
    cpu: float  # seconds of CPU, the tool's process tree
    hosts: int
    ok: int  # hosts the tool read successfully


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tool(name: str, argv: list[str], env: dict[str, str], count_ok: Callable[[str], int],
             hosts: int) -> Measured:  # fmt: skip
    cpu, started = children_cpu(), time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    return Measured(
        name, wall, children_cpu() - cpu, hosts, count_ok(result.stdout + result.stderr)
    )


def median_of(repeat: int, measure: Callable[[], Measured]) -> Measured:
    runs = [measure() for _ in range(repeat)]
    best = sorted(runs, key=lambda m: m.wall)[len(runs) // 2]
    return Measured(best.name, statistics.median(m.wall for m in runs),
                    statistics.median(m.cpu for m in runs), best.hosts,
                    min(m.ok for m in runs))  # fmt: skip


def pelihara(fleet: Fleet, env: dict[str, str], command: str, probes: str,
             concurrency: int, one_host: bool = False) -> Callable[[], Measured]:  # fmt: skip
    """`pelihara verify|collect` over the fleet; ONE_HOST: over its first host only (what a
    run costs besides its hosts: start-up, imports, the database)."""
    which = [fleet.hostname(0)] if one_host else ["--all"]
    argv = [str(PELIHARA), command, *which, "--probe", probes, "--concurrency", str(concurrency),
            "--known-hosts", str(fleet.known_hosts), "--user", USER, "--timeout", "10"]  # fmt: skip
    if command == "verify":
        argv += ["--resolver", f"127.0.0.1:{fleet.dns_port}", "--format", "json"]
    hosts = 1 if one_host else len(fleet.addresses)
    name = f"pelihara {command} {probes}" + (" (1 host)" if one_host else "")

    def ok(output: str) -> int:
        if command == "verify":
            findings = json.loads(output[: output.rindex("}") + 1])["findings"]
            failed = {f["host"] for f in findings if f["check"].endswith(".reach")}
        else:  # collect names each failed host on stderr: "error: h007 [snmp] unreachable: ..."
            lines = output.splitlines()
            failed = {line.split()[1] for line in lines if line.startswith("error: h")}
        return hosts - len(failed)

    return lambda: run_tool(name, argv, env, ok, hosts)


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


def ansible(fleet: Fleet, work: Path, concurrency: int) -> Callable[[], Measured]:
    argv, env = ansible_command(fleet, work, concurrency)
    hosts = len(fleet.addresses)
    return lambda: run_tool("ansible -m setup", argv, env,
                            lambda out: out.count("| SUCCESS"), hosts)  # fmt: skip


def pyinfra(fleet: Fleet, work: Path, concurrency: int) -> Callable[[], Measured]:
    inventory = work / "pyinfra_inventory.py"
    data = {"ssh_port": fleet.ssh_port, "ssh_user": USER, "ssh_key": str(fleet.client_key),
            "ssh_known_hosts_file": str(fleet.known_hosts),
            "ssh_strict_host_key_checking": "yes"}  # fmt: skip
    inventory.write_text(f"fleet = [(a, {data!r}) for a in {fleet.addresses!r}]\n")
    facts = ["server.Hostname", "server.Os", "server.LinuxDistribution", "server.Arch",
             "hardware.Cpus", "hardware.Memory", "hardware.Ipv4Addrs"]  # fmt: skip
    argv = [str(BASELINE_VENV / "pyinfra"), str(inventory), "fact", *facts, "-y",
            "--parallel", str(concurrency), "--json"]  # fmt: skip
    hosts = len(fleet.addresses)
    return lambda: run_tool(
        "pyinfra fact (SSH facts)",
        argv,
        dict(os.environ),
        lambda out: sum(1 for a in fleet.addresses if f'"{a}"' in out),
        hosts,
    )


def table(results: list[Measured]) -> None:
    print(
        f"\n{'tool':34}{'wall s':>9}{'hosts/s':>9}{'CPU s':>8}{'CPU ms/host':>13}{'hosts ok':>10}"
    )
    for m in results:
        print(f"{m.name:34}{m.wall:>9.2f}{m.hosts / m.wall:>9.1f}{m.cpu:>8.2f}"
              f"{m.cpu / m.hosts * 1000:>13.1f}{m.ok:>6}/{m.hosts}")  # fmt: skip


def verdict(ok: bool) -> str:
    return "met   " if ok else "MISSED"


def ratios(results: dict[str, Measured]) -> None:
    full = results.get("pelihara verify ssh,snmp,dns")
    one = results.get("pelihara verify ssh,snmp,dns (1 host)")
    if full is None or one is None:
        return
    per_host = (full.cpu - one.cpu) / (full.hosts - 1) * 1000
    print(f"\ncollector CPU, full verify: {full.cpu / full.hosts * 1000:.1f} ms per host over "
          f"the whole run, of which {one.cpu:.2f} s is a run's own cost (start-up, imports, "
          f"database: the 1-host run); each further host costs {per_host:.1f} ms "
          "((CPU of N hosts - CPU of 1 host) / (N - 1))")  # fmt: skip
    print("targets (issue 3):")
    print(f"  {verdict(per_host < 25)} collector CPU per host < 25 ms: {per_host:.1f} ms")
    for name, target, floor in (("ansible -m setup", "at least 10x faster", 10.0),
                                ("pyinfra fact (SSH facts)", "no slower", 1.0)):  # fmt: skip
        if name in results:
            ratio = results[name].wall / full.wall
            print(f"  {verdict(ratio >= floor)} {name} wall / pelihara full verify wall "
                  f">= {floor:g} ({target}): {ratio:.2f}x")  # fmt: skip


def fleet_home(fleet: Fleet, work: Path) -> dict[str, str]:
    """A fresh PELIHARA_HOME under WORK with the fleet imported as its inventory; the
    environment that reaches the fleet with it."""
    env = environment(fleet, work / "home")
    subprocess.run([str(PELIHARA), "init"], env=env, check=True, capture_output=True)
    csv_file = inventory_csv(fleet, work / "fleet.csv")
    subprocess.run([str(PELIHARA), "inventory", "import", str(csv_file)],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return env


def measure_all(fleet: Fleet, args: argparse.Namespace, work: Path) -> list[Measured]:
    env = fleet_home(fleet, work)
    plan = [pelihara(fleet, env, "verify", probes, args.concurrency)
            for probes in ("ssh,snmp,dns", "ssh", "snmp", "dns")]  # fmt: skip
    plan.append(pelihara(fleet, env, "verify", "ssh,snmp,dns", args.concurrency, one_host=True))
    plan += [
        pelihara(fleet, env, "collect", probes, args.concurrency) for probes in ("snmp", "ssh")
    ]
    if not args.skip_baselines:
        if not (BASELINE_VENV / "ansible").exists():
            sys.exit("baselines missing: run bench/setup-baselines (or --skip-baselines)")
        plan += [ansible(fleet, work, args.concurrency), pyinfra(fleet, work, args.concurrency)]
    return [median_of(args.repeat, measure) for measure in plan]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-baselines", action="store_true")
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, "-m", "bench.verify_fleet", *sys.argv[1:]]))
    machine = f"nproc {os.cpu_count()}, {platform.platform()}"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"fleet: {args.hosts} hosts on loopback, concurrency {args.concurrency}, "
          f"median of {args.repeat}; each tool's wall time includes its start-up\n"
          "checks exercised: all of verify's; hostname checks mismatch by construction "
          "(every host is this machine)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pelihara-fleet-bench-") as tmp, \
            running_fleet(args.hosts) as fleet:  # fmt: skip
        results = measure_all(fleet, args, Path(tmp))
    table(results)
    ratios({m.name: m for m in results})


if __name__ == "__main__":
    main()
