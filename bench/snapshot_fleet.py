"""Snapshots over the simulated fleet, beside Ansible's setup + package_facts + service_facts.

    .venv/bin/python -m bench.snapshot_fleet [--hosts 100] [--concurrency 32] [--repeat 3]
                                             [--single 7] [--skip-baselines]

Issue 12's targets: `pelihara snapshot take --all --phase pre --probe ssh` at least 5x faster
than the nearest peer (Ansible's `setup`, then `package_facts`, then `service_facts`, over
the same hosts in the same run), the collector's peak RSS under 200 MB, and one host over
SSH on loopback under 1 s wall. Each tool is its own process, measured by `os.wait4`: wall,
CPU (user + system of the process and the children it waited for) and the largest resident
set of that tree. The fleet (`bench.fleet`) and the Ansible command (`bench.verify_fleet`)
are the verify bench's; `bench/setup-baselines` installs Ansible into .bench-venv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.fleet import (
    BASELINE_VENV,
    PELIHARA,
    USER,
    Fleet,
    ansible_command,
    fleet_home,
    running_fleet,
    verdict,
)

if TYPE_CHECKING:
    from pelihara.cli.app import App
    from pelihara.collector.snapshot import SnapshotRequest

TIME = "/usr/bin/time"  # GNU time
ANSIBLE_MODULES = ("setup", "package_facts", "service_facts")
PLAYBOOK = """\
- hosts: all
  gather_facts: true
  tasks:
    - ansible.builtin.package_facts: {}
    - ansible.builtin.service_facts: {}
"""
READS = """\
what each side reads, per host:
  pelihara snapshot take: one SSH connection, one round trip: the full facts bundle (identity
    with machine-id, DMI and boot time; CPU; memory; disks with model, serial, size; mounts
    with usage; interfaces with MAC, state, speed, addresses; OS, kernel; services and their
    state; listening ports with their process; packages with versions; SSH host key
    fingerprints) and one health sample; then it stores the canonical document and its
    SHA-256 in the database, writes the audit entry and sends its numbers to the
    time-series store (the embedded one here) through the spool
  ansible -m setup, -m package_facts, -m service_facts: Ansible's facts (hardware, network,
    OS, mounts, host keys, ...), then the packages with versions (python3-apt), then the
    services and their state; three runs, each prints the JSON and stores nothing; SSH
    connections kept open between them by Ansible's ControlPersist (its default)"""


@dataclass(frozen=True)
class Run:
    """One process, whole: wall seconds, CPU seconds of its tree, its largest RSS (MB)."""

    wall: float
    cpu: float
    rss_mb: float
    stdout: str
    stderr: str
    status: int


@dataclass(frozen=True)
class Side:
    """A tool's median over the repeats; RSS the largest seen in any repeat."""

    name: str
    wall: float
    cpu: float
    rss_mb: float
    hosts: int
    ok: int


def run_measured(argv: list[str], env: dict[str, str]) -> Run:
    """Run ARGV to its end under GNU time, whose `%M` is the peak RSS of ARGV's process tree
    (forked from a small process: a fork of this bench would count the bench's own pages);
    `os.wait4` gives the tree's CPU, not the bench's other children as RUSAGE_CHILDREN would."""
    if not Path(TIME).exists():
        sys.exit(f"{TIME} missing: apt-get install time")
    with tempfile.TemporaryDirectory(prefix="snapbench-run-") as tmp:
        out, err, rss = (Path(tmp) / name for name in ("out", "err", "rss"))
        with out.open("wb") as stdout, err.open("wb") as stderr:
            started = time.perf_counter()
            process = subprocess.Popen([TIME, "-f", "%M", "-o", str(rss), *argv], env=env,
                                       stdout=stdout, stderr=stderr)  # fmt: skip
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        peak_kib = int(rss.read_text().split()[-1])
        texts = [path.read_bytes().decode("utf-8", "replace") for path in (out, err)]
    return Run(wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024, *texts,
               process.returncode)  # fmt: skip


def median_side(name: str, hosts: int, runs: list[tuple[Run, int]]) -> Side:
    """RUNS: each repeat and the hosts it read."""
    return Side(name, statistics.median(r.wall for r, _ in runs),
                statistics.median(r.cpu for r, _ in runs), max(r.rss_mb for r, _ in runs),
                hosts, min(ok for _, ok in runs))  # fmt: skip


def take_argv(fleet: Fleet, which: list[str], concurrency: int) -> list[str]:
    return [str(PELIHARA), "snapshot", "take", *which, "--phase", "pre", "--probe", "ssh",
            "--concurrency", str(concurrency), "--known-hosts", str(fleet.known_hosts),
            "--user", USER, "--timeout", "10", "--format", "json"]  # fmt: skip


def taken_ok(run: Run) -> int:
    """Hosts stored whole (a snapshot id, no problem), from `take --format json`."""
    taken = json.loads(run.stdout) if run.stdout.strip() else []
    return sum(1 for t in taken if t["snapshot"] is not None and not t["problems"])


def pelihara_side(fleet: Fleet, env: dict[str, str], which: list[str], args: argparse.Namespace,
                  repeat: int) -> tuple[Side, list[Run]]:  # fmt: skip
    argv = take_argv(fleet, which, args.concurrency)
    runs = [run_measured(argv, env) for _ in range(repeat)]
    name = "pelihara snapshot take " + ("--all" if which == ["--all"] else " ".join(which))
    hosts = len(fleet.addresses) if which == ["--all"] else len(which)
    return median_side(name, hosts, [(r, taken_ok(r)) for r in runs]), runs


def ansible_sequence(fleet: Fleet, work: Path, concurrency: int, limit: str) -> list[Run]:
    """The three modules one after the other, as an operator would run them."""
    runs = []
    for module in ANSIBLE_MODULES:
        argv, env = ansible_command(fleet, work, concurrency, module)
        runs.append(run_measured([*argv, "--limit", limit], env))
    return runs


def ansible_side(fleet: Fleet, work: Path, args: argparse.Namespace, limit: str,
                 hosts: int) -> tuple[Side, list[Run]]:  # fmt: skip
    repeats = [ansible_sequence(fleet, work, args.concurrency, limit) for _ in range(args.repeat)]
    summed = [(Run(sum(r.wall for r in seq), sum(r.cpu for r in seq), max(r.rss_mb for r in seq),
                   "", "", max(r.status for r in seq)),
               min(r.stdout.count("| SUCCESS") for r in seq)) for seq in repeats]  # fmt: skip
    name = "ansible " + " + ".join(f"-m {m}" for m in ANSIBLE_MODULES)
    return median_side(name, hosts, summed), repeats[-1]


def playbook_side(fleet: Fleet, work: Path, args: argparse.Namespace) -> Side:
    """The same three modules in one play: one Ansible start-up (its fairest form)."""
    argv, env = ansible_command(fleet, work, args.concurrency)
    playbook = work / "snapshot-peer.yml"
    playbook.write_text(PLAYBOOK)
    inventory = argv[argv.index("-i") + 1]
    command = [str(BASELINE_VENV / "ansible-playbook"), "-i", inventory, str(playbook),
               "-f", str(args.concurrency)]  # fmt: skip
    done = re.compile(r"ok=3\s+changed=0\s+unreachable=0\s+failed=0")
    runs = [run_measured(command, env) for _ in range(args.repeat)]
    return median_side("ansible-playbook (the 3 modules in one play)", len(fleet.addresses),
                       [(r, len(done.findall(r.stdout))) for r in runs])  # fmt: skip


def read_counts(fleet: Fleet, env: dict[str, str], ansible_runs: list[Run]) -> None:
    """What each side found on the first host: the same machine, so the same counts."""
    listing = run_measured([str(PELIHARA), "snapshot", "list", fleet.hostname(0), "--limit",
                            "1", "--format", "json"], env)  # fmt: skip
    newest = json.loads(listing.stdout)[0]["id"]
    shown = run_measured([str(PELIHARA), "snapshot", "show", str(newest), "--format", "json"], env)
    facts = json.loads(shown.stdout)["facts"]
    print(
        f"read on {fleet.hostname(0)}: pelihara {len(facts['packages'] or [])} packages, "
        f"{len(facts['services'] or [])} services, {len(facts['listening_ports'] or [])} "
        f"listening ports; a snapshot document is {len(shown.stdout) / 1024:.0f} KiB"
    )
    if ansible_runs:
        found = [_ansible_facts(run, fleet.hostname(0)) for run in ansible_runs]
        packages, services = len(found[1].get("packages", {})), len(found[2].get("services", {}))
        print(
            f"  ansible {packages} package names, {services} services (without systemd as "
            "PID 1, as in this container, pelihara's services are the running processes by "
            "name, Ansible's the init scripts `service --status-all` lists)"
        )


def _ansible_facts(run: Run, host: str) -> dict[str, object]:
    for line in run.stdout.splitlines():
        if line.startswith(f"{host} | SUCCESS => "):
            document = json.loads(line.split(" => ", 1)[1])
            return dict(document.get("ansible_facts", {}))
    return {}


def table(sides: list[Side]) -> None:
    print(f"\n{'tool':62}{'wall s':>8}{'hosts/s':>9}{'CPU s':>8}{'CPU ms/host':>12}"
          f"{'max RSS MB':>11}{'ok':>8}")  # fmt: skip
    for s in sides:
        print(f"{s.name:62}{s.wall:>8.2f}{s.hosts / s.wall:>9.1f}{s.cpu:>8.2f}"
              f"{s.cpu / s.hosts * 1000:>12.1f}{s.rss_mb:>11.1f}{s.ok:>4}/{s.hosts}")  # fmt: skip


def fleet_targets(ours: Side, peers: list[Side]) -> None:
    print("targets (issue 12):")
    print(f"  {verdict(ours.rss_mb < 200)} collector peak RSS < 200 MB: {ours.rss_mb:.1f} MB "
          "(the largest of the repeats)")  # fmt: skip
    for peer in peers:
        ratio = peer.wall / ours.wall
        print(f"  {verdict(ratio >= 5) if peer is peers[0] else '(info)'} {peer.name} wall / "
              f"pelihara wall >= 5: {ratio:.2f}x")  # fmt: skip


@contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    """This process's environment replaced for a block (the in-process take reads
    PELIHARA_HOME and the key from it), then restored."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def timed_take(app: App, request: SnapshotRequest) -> tuple[float, float, float]:
    """One take in process, in three parts: the database and the selection (to ON_START),
    the SSH capture (to ON_HOST), then the store, the audit entry and the spool."""
    from pelihara.collector.snapshot import take_snapshots

    marks = [time.perf_counter()]
    report = take_snapshots(app.sessions(), request, app.who,
                            on_host=lambda _: marks.append(time.perf_counter()),
                            on_start=lambda _: marks.append(time.perf_counter()))  # fmt: skip
    marks.append(time.perf_counter())
    if report.exit_status != 0 or len(marks) != 4:
        sys.exit(f"in-process take failed: {report}")
    return marks[1] - marks[0], marks[2] - marks[1], marks[3] - marks[2]


def in_process_takes(fleet: Fleet, env: dict[str, str], repeat: int) -> None:
    """One host's take inside this process, after a first take paid the imports."""
    with environ(env):
        from pelihara.cli.app import App
        from pelihara.collector.probes import without_invoke
        from pelihara.collector.snapshot import SnapshotRequest
        from pelihara.collector.verify import VerifyRequest

        scan = VerifyRequest(hosts=(fleet.hostname(0),), probes=("ssh",), ssh_user=USER,
                             known_hosts=(fleet.known_hosts,), timeout=10)  # fmt: skip
        request, app = SnapshotRequest(scan, "pre"), App()
        with without_invoke():
            phases = [timed_take(app, request) for _ in range(repeat + 1)][1:]
        app.close()
    parts = [statistics.median(p[i] for p in phases) * 1000 for i in range(3)]
    print(f"  the take in process (imports paid, median of {repeat}): {sum(parts):.0f} ms = "
          f"database and selection {parts[0]:.0f} + SSH capture {parts[1]:.0f} + store, "
          f"audit and spool {parts[2]:.0f} ms")  # fmt: skip


def one_host(fleet: Fleet, env: dict[str, str], work: Path, args: argparse.Namespace) -> None:
    """One fleet host over SSH on loopback: the whole process, its floors, the peer."""
    host = fleet.hostname(0)
    side, runs = pelihara_side(fleet, env, [host], args, args.single)
    ssh = ["ssh", "-i", str(fleet.client_key), "-p", str(fleet.ssh_port),
           "-o", f"UserKnownHostsFile={fleet.known_hosts}", "-o", "StrictHostKeyChecking=yes",
           "-o", "BatchMode=yes", f"{USER}@{fleet.addresses[0]}", "true"]  # fmt: skip
    floors = [
        ("ssh HOST true (OpenSSH client: connect, authenticate, run)", ssh),
        ("pelihara --version (start-up)", [str(PELIHARA), "--version"]),
    ]
    sides = [side]
    for name, argv in floors:
        measured = [run_measured(argv, env) for _ in range(args.single)]
        sides.append(median_side(name, 1, [(r, int(r.status == 0)) for r in measured]))
    if not args.skip_baselines:
        sides.append(ansible_side(fleet, work, args, host, 1)[0])
    print(f"\none host ({host} on {fleet.addresses[0]}), median of {args.single} "
          f"(Ansible: of {args.repeat}):")  # fmt: skip
    table(sides)
    print(f"  {verdict(side.wall < 1)} one host over SSH on loopback < 1 s (whole process): "
          f"{side.wall:.3f} s; runs {', '.join(f'{r.wall:.3f}' for r in runs)}")  # fmt: skip
    in_process_takes(fleet, env, args.single)


def fleet_run(fleet: Fleet, env: dict[str, str], work: Path, args: argparse.Namespace) -> None:
    ours, _ = pelihara_side(fleet, env, ["--all"], args, args.repeat)
    peers: list[Side] = []
    ansible_runs: list[Run] = []
    if not args.skip_baselines:
        if not (BASELINE_VENV / "ansible").exists():
            sys.exit("baselines missing: run bench/setup-baselines (or --skip-baselines)")
        every = ",".join(fleet.hostname(i) for i in range(len(fleet.addresses)))
        sequence, ansible_runs = ansible_side(fleet, work, args, every, len(fleet.addresses))
        peers = [sequence, playbook_side(fleet, work, args)]
    print(f"\n{len(fleet.addresses)} hosts, concurrency {args.concurrency}, median of "
          f"{args.repeat}; wall includes each tool's start-up:")  # fmt: skip
    table([ours, *peers])
    fleet_targets(ours, peers)
    read_counts(fleet, env, ansible_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="fleet runs (median)")
    parser.add_argument("--single", type=int, default=7, help="one-host runs (median)")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--part", choices=("both", "fleet", "single"), default="both",
                        help="the whole fleet, one host, or both")  # fmt: skip
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress in a file
    print("command:", shlex.join([sys.executable, "-m", "bench.snapshot_fleet", *sys.argv[1:]]))
    machine = f"nproc {os.cpu_count()}, {platform.platform()}"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(READS)
    print("max RSS: GNU time's %M, the largest process of the tool's tree; CPU: user + "
          "system of the tree (os.wait4); wall: the whole process, start-up included")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pelihara-snapbench-") as tmp, \
            running_fleet(args.hosts) as fleet:  # fmt: skip
        work = Path(tmp)
        env = fleet_home(fleet, work)
        if args.part in ("both", "single"):  # first: before Ansible's leftover connections
            one_host(fleet, env, work, args)
        if args.part in ("both", "fleet"):
            fleet_run(fleet, env, work, args)


if __name__ == "__main__":
    main()
