"""What a pelihara command costs before it does anything: imports (`python -X importtime`) and
whole-process CPU, beside `python -c pass` and the reference collector's own imports.

    .venv/bin/python -m bench.startup [--repeat 5] [--top 15]

Runs `pelihara --version`, `pelihara inventory list` and `pelihara verify srv001` (v2c and
v3) against a one-host reference fleet (`bench/reference/fleet.sh up 1`, stopped at the end
whatever happens) with a throwaway PELIHARA_HOME. For each: the top-level imports' cumulative
time (the sum over the imports that no other import made) and the 15 packages that cost the
most (a package's imports made from outside the package, summed), from one
`-X importtime` run; and whole-process CPU (RUSAGE_CHILDREN delta) and wall, median of
--repeat runs without -X importtime.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.reference_fleet import (
    COLLECTOR,
    PELIHARA,
    ReferenceFleet,
    compiled,
    one_host_copy,
    pelihara_home,
    running_reference_fleet,
    verify_argv,
)

REFERENCE_IMPORTS = "import paramiko, pysnmp.hlapi.v3arch.asyncio, dns.asyncresolver"


@dataclass(frozen=True)
class Import:
    depth: int
    name: str
    cumulative_us: int


def parse_importtime(stderr: str) -> list[Import]:
    """`import time: SELF | CUMULATIVE | NAME` lines (NAME indented two spaces a level)."""
    found = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|", 2)
        name = name[1:]
        depth = (len(name) - len(name.lstrip())) // 2
        found.append(Import(depth, name.strip(), int(cumulative)))
    return found


def by_package(imports: list[Import]) -> dict[str, int]:
    """Cumulative microseconds per top-level package: its imports that were made from outside
    it (from the script or another package), summed. Python prints an import when it ends,
    after its own imports, so reading the lines backwards finds each import's parent."""
    totals: dict[str, int] = defaultdict(int)
    parents: list[str] = []  # the enclosing import's package at each depth
    for item in reversed(imports):
        del parents[item.depth :]
        package = item.name.split(".")[0]
        if not parents or parents[-1] != package:
            totals[package] += item.cumulative_us
        parents.append(package)
    return dict(totals)


def importtime(argv: list[str], env: dict[str, str]) -> tuple[int, list[tuple[str, int]]]:
    """Top-level imports' total (µs) and the packages by cumulative time, of one run."""
    command = [argv[0], "-X", "importtime", *argv[1:]]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    imports = parse_importtime(result.stderr)
    total = sum(i.cumulative_us for i in imports if i.depth == 0)
    ranked = sorted(by_package(imports).items(), key=lambda kv: -kv[1])
    return total, ranked


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_process(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median whole-process (CPU s, wall s) of REPEAT runs."""
    cpus, walls = [], []
    for _ in range(repeat):
        cpu, started = children_cpu(), time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        walls.append(time.perf_counter() - started)
        cpus.append(children_cpu() - cpu)
    return statistics.median(cpus), statistics.median(walls)


def commands(fleet: ReferenceFleet, work: Path) -> list[tuple[str, list[str], dict[str, str]]]:
    """(name, argv with the interpreter first, environment) of each command measured."""
    homes = {"v2c": pelihara_home(fleet, work, "v2c"), "v3": pelihara_home(fleet, work, "v3")}
    one = one_host_copy(fleet, work / "one-host")
    python, script = sys.executable, str(PELIHARA)
    verify = verify_argv(fleet, [fleet.hostname(0)], "ssh,snmp,dns", 32)[1:]
    plain = dict(os.environ)
    return [
        ("python -c pass", [python, "-c", "pass"], plain),
        ("python -c 'import paramiko, pysnmp..., dns...'", [python, "-c", REFERENCE_IMPORTS],
         plain),
        ("pelihara --version", [python, script, "--version"], homes["v2c"]),
        ("pelihara inventory list", [python, script, "inventory", "list"], homes["v2c"]),
        ("pelihara verify srv001 (v2c)", [python, script, *verify], homes["v2c"]),
        ("pelihara verify srv001 (v3)", [python, script, *verify], homes["v3"]),
        ("reference_collector.py, 1 host (v2c)",
         [python, str(COLLECTOR), "--fleet", str(one.directory)], plain),
        ("reference_collector.py, 1 host (v3)",
         [python, str(COLLECTOR), "--fleet", str(one.directory), "--snmp-version", "3"], plain),
    ]  # fmt: skip


def report(name: str, argv: list[str], env: dict[str, str], args: argparse.Namespace) -> str:
    total, ranked = importtime(argv, env)
    cpu, wall = whole_process(argv, env, args.repeat)
    top = ", ".join(f"{package} {us / 1000:.0f}" for package, us in ranked[: args.top])
    print(f"\n{name}\n  whole process: CPU {cpu * 1000:.0f} ms, wall {wall * 1000:.0f} ms "
          f"(median of {args.repeat}); imports {total / 1000:.0f} ms (-X importtime, "
          f"cumulative, top level)\n  top {args.top} packages, ms: {top}")  # fmt: skip
    return f"| {name} | {cpu * 1000:.0f} | {wall * 1000:.0f} | {total / 1000:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, "-m", "bench.startup", *sys.argv[1:]]))
    print(compiled())
    print(f"machine: nproc {os.cpu_count()}, {platform.platform()}, Python "
          f"{platform.python_version()}; load {os.getloadavg()[0]:.2f}")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="pelihara-startup-") as tmp, \
            running_reference_fleet(1, Path(tmp)) as fleet:  # fmt: skip
        for name, argv, env in commands(fleet, Path(tmp)):
            rows.append(report(name, argv, env, args))
    print(f"\nload after: {os.getloadavg()[0]:.2f}\n")
    print("| command | CPU ms | wall ms | imports ms (-X importtime) |\n| --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
