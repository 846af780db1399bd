"""Verify over issue 15's reference fleet, against the reference collector (the floor), pyinfra
and Ansible, in ONE run: one table of ratios with their targets.

    .venv/bin/python -m bench.verify_fleet [--hosts 100] [--repeat 3] [--concurrency 32]
        [--baselines-venv .bench-venv] [--skip-baselines] [--findings FILE] [--compare FILE]
        [--findings-only]

The fleet is `bench/reference/fleet.sh up N DIR` (stopped with `down` whatever happens);
the floor is `bench/reference/reference_collector.py`, run with this venv's Python, so both
sides use the same paramiko, pysnmp and dnspython. Every tool is measured as a whole process:
wall by `time.perf_counter`, CPU as the RUSAGE_CHILDREN delta (user + system of the tool's
process tree), the median of `--repeat` runs. The client CPU per further host is
(CPU of N hosts - CPU of 1 host) / (N - 1): what a run costs besides its own start-up.

`--findings FILE` writes the full verify's findings (v2c and v3; host, check, source,
status, expected, observed; sorted) as JSON; `--compare FILE` compares this run's with
FILE's, prints every difference and exits 1 if there is one. `--findings-only` runs just
the two verifies, once (to check a change quickly).
"""

from __future__ import annotations

import argparse
import gzip
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
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from bench.reference_fleet import (
    COLLECTOR,
    ROOT,
    ReferenceFleet,
    Version,
    compiled,
    one_host_copy,
    pelihara_home,
    running_reference_fleet,
    verify_argv,
)

PINNED = ("paramiko", "pysnmp", "dnspython", "pyasn1", "cryptography")
# What each side of the like-for-like comparison reads, per host (named in the output).
PELIHARA_SSH_READS = (
    "one SSH exec of the verify bundle (facts.bundle.VERIFY_BUNDLE): hostname, FQDN, "
    "machine-id, DMI vendor/product/serial, /proc/cpuinfo and the CPU topology, /proc/meminfo, "
    "lsblk (disks), ip addr (addresses), link speeds, os-release, kernel; then the checks "
    "and the run stored in the database"
)
PYINFRA_FACTS = ("server.Hostname", "hardware.CpuInfo", "hardware.Cpus", "hardware.Memory",
                 "hardware.BlockDevices", "hardware.NetworkDevices", "server.OsRelease",
                 "server.KernelVersion")  # fmt: skip
PYINFRA_READS = (
    "one SSH connection, one exec per fact: uname -n (Hostname), lscpu (CpuInfo), getconf "
    "(Cpus), vmstat -s (Memory), df (BlockDevices: its only disk fact, mounted filesystems), "
    "ip addr (NetworkDevices: the addresses Ipv4Addrs/Ipv6Addrs are read from), "
    "/etc/os-release (OsRelease), uname -r (KernelVersion); no machine-id, DMI or FQDN"
)


@dataclass
class Measured:
    name: str
    wall: float
    cpu: float  # seconds of CPU, the tool's process tree
    hosts: int
    ok: int  # hosts the tool read successfully
    output: str = field(default="", repr=False)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tool(name: str, argv: list[str], env: dict[str, str], count_ok: Callable[[str], int],
             hosts: int) -> Measured:  # fmt: skip
    cpu, started = children_cpu(), time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    output = result.stdout + result.stderr
    return Measured(name, wall, children_cpu() - cpu, hosts, count_ok(output), result.stdout)


def median_of(repeat: int, measure: Callable[[], Measured]) -> Measured:
    runs = [measure() for _ in range(repeat)]
    last = runs[-1]
    return Measured(last.name, statistics.median(m.wall for m in runs),
                    statistics.median(m.cpu for m in runs), last.hosts,
                    min(m.ok for m in runs), last.output)  # fmt: skip


@dataclass(frozen=True)
class Bench:
    """What every measurement needs: the fleet, its one-host copy, the two homes."""

    fleet: ReferenceFleet
    one: ReferenceFleet
    homes: dict[Version, dict[str, str]]
    concurrency: int
    baselines: Path


def pelihara(bench: Bench, version: Version, probes: str,
             one_host: bool = False) -> Callable[[], Measured]:  # fmt: skip
    """`pelihara verify --all|srv001 --probe PROBES` with the SNMP credential of VERSION."""
    which = [bench.fleet.hostname(0)] if one_host else ["--all"]
    argv = verify_argv(bench.fleet, which, probes, bench.concurrency)
    hosts = 1 if one_host else len(bench.fleet.hosts)
    name = f"pelihara verify {probes}" + (f" {version}" if "snmp" in probes else "")
    name += " (1 host)" if one_host else ""

    def ok(output: str) -> int:
        findings = json.loads(output[: output.rindex("}") + 1])["findings"]
        return hosts - len({f["host"] for f in findings if f["check"].endswith(".reach")})

    return lambda: run_tool(name, argv, bench.homes[version], ok, hosts)


def reference(bench: Bench, version: Version, phases: str,
              one_host: bool = False) -> Callable[[], Measured]:  # fmt: skip
    """The reference collector (this venv's Python) over the fleet or its one-host copy."""
    fleet = bench.one if one_host else bench.fleet
    argv = [sys.executable, str(COLLECTOR), "--fleet", str(fleet.directory), "--phases", phases]
    argv += ["--snmp-version", "3"] if version == "v3" else []
    name = f"reference {phases}" + (f" {version}" if "snmp" in phases else "")
    name += " (1 host)" if one_host else ""

    def ok(output: str) -> int:
        line = next(x for x in reversed(output.splitlines()) if x.startswith("{"))
        return min(phase["ok"] for phase in json.loads(line)["phases"].values())

    return lambda: run_tool(name, argv, dict(os.environ), ok, len(fleet.hosts))


def pyinfra(bench: Bench) -> Callable[[], Measured]:
    """`pyinfra INVENTORY fact` of the facts nearest verify's SSH reads (PYINFRA_READS)."""
    fleet = bench.fleet
    inventory = str(fleet.directory / "pyinfra_inventory.py")
    argv = [str(bench.baselines / "pyinfra"), inventory, "fact", *PYINFRA_FACTS, "-y",
            "--parallel", str(bench.concurrency), "--json"]  # fmt: skip
    names = [fleet.hostname(i) for i in range(len(fleet.hosts))]

    def ok(output: str) -> int:
        return sum(1 for n in names if f'"{n}"' in output)

    return lambda: run_tool("pyinfra fact (verify's SSH facts)", argv, dict(os.environ), ok,
                            len(names))  # fmt: skip


def ansible(bench: Bench, work: Path) -> Callable[[], Measured]:
    """`ansible all -m setup` with fleet.sh's inventory (same key, strict host-key checking)."""
    argv = [str(bench.baselines / "ansible"), "all", "-i",
            str(bench.fleet.directory / "ansible_inventory.ini"), "-m", "setup",
            "-f", str(bench.concurrency), "-o"]  # fmt: skip
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp")}  # fmt: skip
    return lambda: run_tool("ansible -m setup", argv, env, lambda out: out.count("| SUCCESS"),
                            len(bench.fleet.hosts))  # fmt: skip


def plan(bench: Bench, work: Path, baselines: bool) -> list[Callable[[], Measured]]:
    """Every measurement of the table, in the order they run."""
    steps = []
    for v in ("v2c", "v3"):
        version: Version = v  # type: ignore[assignment]
        steps += [reference(bench, version, "ssh,snmp,dns"),
                  reference(bench, version, "ssh,snmp,dns", one_host=True),
                  pelihara(bench, version, "ssh,snmp,dns"),
                  pelihara(bench, version, "ssh,snmp,dns", one_host=True),
                  reference(bench, version, "snmp"),
                  reference(bench, version, "snmp", one_host=True),
                  pelihara(bench, version, "snmp"),
                  pelihara(bench, version, "snmp", one_host=True)]  # fmt: skip
    steps.append(pelihara(bench, "v2c", "ssh"))
    if baselines:
        steps += [pyinfra(bench), ansible(bench, work)]
    return steps


# ---------------------------------------------------------------- findings


def findings_of(measured: Measured) -> list[dict[str, object]]:
    """A verify's findings without run ids or times, sorted."""
    keep = ("host", "check", "source", "status", "expected", "observed")
    found = json.loads(measured.output)["findings"]
    rows = [{k: f.get(k) for k in keep} for f in found]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def compare(old: dict[str, list[dict[str, object]]],
            new: dict[str, list[dict[str, object]]]) -> list[str]:  # fmt: skip
    """Every finding in one and not the other ('-' only before, '+' only now)."""
    lines = []
    for key in sorted(set(old) | set(new)):
        before = {json.dumps(r, sort_keys=True) for r in old.get(key, [])}
        after = {json.dumps(r, sort_keys=True) for r in new.get(key, [])}
        lines += [f"- {key} {r}" for r in sorted(before - after)]
        lines += [f"+ {key} {r}" for r in sorted(after - before)]
    return lines


def write_json(path: Path, found: dict[str, list[dict[str, object]]]) -> None:
    """FOUND as sorted, indented JSON; gzipped when PATH ends in .gz (to keep one in git)."""
    text = json.dumps(found, indent=1, sort_keys=True) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode(), mtime=0))
    else:
        path.write_text(text)


def read_json(path: Path) -> dict[str, list[dict[str, object]]]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    found: dict[str, list[dict[str, object]]] = json.loads(data)
    return found


def write_and_compare(results: dict[str, Measured], args: argparse.Namespace) -> int:
    found = {v: findings_of(results[f"pelihara verify ssh,snmp,dns {v}"]) for v in ("v2c", "v3")}
    if args.findings:
        write_json(Path(args.findings), found)
        print(f"findings: {sum(map(len, found.values()))} written to {args.findings}")
    if not args.compare:
        return 0
    differences = compare(read_json(Path(args.compare)), found)
    for line in differences:
        print(line)
    said = f"{len(differences)} differences" if differences else "the same findings"
    print(f"compared with {args.compare}: {said}")
    return 1 if differences else 0


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Ratio:
    what: str
    ours: float
    base: float
    unit: str
    target: str
    met: Callable[[float], bool]

    @property
    def value(self) -> float:
        return self.ours / self.base if self.base else float("inf")


def per_host(many: Measured, one: Measured) -> float:
    """Client CPU of each further host, ms: (CPU of N hosts - CPU of 1 host) / (N - 1)."""
    return (many.cpu - one.cpu) / (many.hosts - 1) * 1000


def ratios(r: dict[str, Measured]) -> list[Ratio]:
    def get(name: str) -> Measured:
        return r[name]

    full = {v: get(f"pelihara verify ssh,snmp,dns {v}") for v in ("v2c", "v3")}
    ref = {v: get(f"reference ssh,snmp,dns {v}") for v in ("v2c", "v3")}
    snmp = {v: per_host(get(f"pelihara verify snmp {v}"), get(f"pelihara verify snmp {v} (1 host)"))
            for v in ("v2c", "v3")}  # fmt: skip
    ref_snmp = {v: per_host(get(f"reference snmp {v}"), get(f"reference snmp {v} (1 host)"))
                for v in ("v2c", "v3")}  # fmt: skip
    out = [
        Ratio("SNMP v3 / v2c, client CPU per further host (pelihara verify --probe snmp)",
              snmp["v3"], snmp["v2c"], "ms", "<= 1.25", lambda x: x <= 1.25),
        Ratio("  the same in the reference collector (information)", ref_snmp["v3"],
              ref_snmp["v2c"], "ms", "", lambda x: True),
        Ratio("SNMP v3 per further host, pelihara / reference (information)", snmp["v3"],
              ref_snmp["v3"], "ms", "", lambda x: True),
    ]  # fmt: skip
    for v, limit in (("v2c", 1.2), ("v3", 1.3)):
        out += [Ratio(f"whole verify ssh+snmp {v}+dns, wall / reference", full[v].wall,
                      ref[v].wall, "s", f"<= {limit}", lambda x, lim=limit: x <= lim),
                Ratio(f"whole verify ssh+snmp {v}+dns, client CPU / reference", full[v].cpu,
                      ref[v].cpu, "s", f"<= {limit}", lambda x, lim=limit: x <= lim)]  # fmt: skip
    for v in ("v2c", "v3"):
        one, ref_one = (
            get(f"pelihara verify ssh,snmp,dns {v} (1 host)"),
            get(f"reference ssh,snmp,dns {v} (1 host)"),
        )
        out.append(Ratio(f"one host, whole-process CPU ({v}) / reference one host", one.cpu,
                         ref_one.cpu, "s", "<= 1.2", lambda x: x <= 1.2))  # fmt: skip
        out.append(Ratio(f"  CPU per further host, whole verify {v} / reference (information)",
                         per_host(full[v], one), per_host(ref[v], ref_one), "ms", "",
                         lambda x: True))  # fmt: skip
    ssh = get("pelihara verify ssh")
    if "pyinfra fact (verify's SSH facts)" in r:
        out.append(Ratio("pyinfra fact wall / pelihara verify --probe ssh wall",
                         r["pyinfra fact (verify's SSH facts)"].wall, ssh.wall, "s", "> 1",
                         lambda x: x > 1))  # fmt: skip
    if "ansible -m setup" in r:
        out.append(Ratio("ansible -m setup wall / pelihara whole verify v2c wall",
                         r["ansible -m setup"].wall, full["v2c"].wall, "s", ">= 10",
                         lambda x: x >= 10))  # fmt: skip
    return out


def print_measurements(results: list[Measured]) -> None:
    print(f"\n{'measurement (median)':46}{'wall s':>8}{'CPU s':>8}{'CPU ms/host':>13}"
          f"{'hosts ok':>10}")  # fmt: skip
    for m in results:
        print(f"{m.name:46}{m.wall:>8.2f}{m.cpu:>8.2f}{m.cpu / m.hosts * 1000:>13.1f}"
              f"{m.ok:>6}/{m.hosts}")  # fmt: skip


def print_ratios(table: list[Ratio]) -> None:
    print(f"\n{'ratio':76}{'pelihara':>10}{'baseline':>10}{'ratio':>8}  {'target':8}verdict")
    for x in table:
        verdict = ("met" if x.met(x.value) else "MISSED") if x.target else ""
        print(f"{x.what:76}{x.ours:>8.2f}{x.unit:2}{x.base:>8.2f}{x.unit:2}{x.value:>8.2f}  "
              f"{x.target:8}{verdict}")  # fmt: skip


# ---------------------------------------------------------------- the run


def versions(baselines: Path) -> str:
    pinned = ", ".join(f"{name} {version(name)}" for name in PINNED)
    if not (baselines / "python").exists():
        return f"Python {platform.python_version()}, {pinned}"
    found = subprocess.run([str(baselines / "python"), "-c",
                            "from importlib.metadata import version as v; "
                            "print('pyinfra', v('pyinfra') + ', ansible-core', v('ansible-core'))"],
                           capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    return f"Python {platform.python_version()}, {pinned}" + (
        f"; baselines: {found}" if found else ""
    )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(args: argparse.Namespace, work: Path) -> dict[str, Measured]:
    with running_reference_fleet(args.hosts, work) as fleet:
        one = one_host_copy(fleet, work / "one-host")
        homes: dict[Version, dict[str, str]] = {
            "v2c": pelihara_home(fleet, work, "v2c"),
            "v3": pelihara_home(fleet, work, "v3"),
        }
        bench = Bench(fleet, one, homes, args.concurrency, Path(args.baselines_venv) / "bin")
        if args.findings_only:
            steps = [pelihara(bench, v, "ssh,snmp,dns") for v in ("v2c", "v3")]  # type: ignore[arg-type]
            return {m.name: m for m in (step() for step in steps)}
        results = [median_of(args.repeat, step) for step in plan(bench, work, args.baselines)]
    print_measurements(results)
    return {m.name: m for m in results}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--baselines-venv",
        default=str(ROOT / ".bench-venv"),
        help="the venv of bench/setup-baselines (pyinfra, ansible-core)",
    )
    parser.add_argument("--skip-baselines", dest="baselines", action="store_false")
    parser.add_argument("--findings", help="write the full verify's findings (JSON) here")
    parser.add_argument("--compare", help="compare this run's findings with this file")
    parser.add_argument("--findings-only", action="store_true",
                        help="the two full verifies only, once")  # fmt: skip
    args = parser.parse_args()
    wanted = args.baselines and not args.findings_only
    if wanted and not (Path(args.baselines_venv) / "bin" / "pyinfra").exists():
        parser.error(f"no pyinfra in {args.baselines_venv}: run bench/setup-baselines, "
                     "or give --baselines-venv or --skip-baselines")  # fmt: skip
    return args


def main() -> None:
    args = arguments()
    print(compiled())
    print("command:", shlex.join([sys.executable, "-m", "bench.verify_fleet", *sys.argv[1:]]))
    print(f"machine: nproc {os.cpu_count()}, {platform.platform()}; load before {load()}")
    print(f"versions: {versions(Path(args.baselines_venv) / 'bin')}")
    runs = "once" if args.findings_only else f"median of {args.repeat}"
    print(f"fleet: bench/reference/fleet.sh, {args.hosts} hosts on loopback, concurrency "
          f"{args.concurrency}, {runs}; whole processes (start-up included); "
          "the fleet's servers share the cores")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pelihara-verify-bench-") as tmp:
        results = measure(args, Path(tmp))
    print(f"load after: {load()}")
    if not args.findings_only:
        print("\nwhat each side reads per host:\n"
              f"  pelihara verify --probe ssh: {PELIHARA_SSH_READS}\n"
              f"  pyinfra fact {' '.join(PYINFRA_FACTS)}: {PYINFRA_READS}")  # fmt: skip
        print_ratios(ratios(results))
    sys.exit(write_and_compare(results, args))


if __name__ == "__main__":
    main()
