"""Agent overhead: CPU per cycle and memory of `pelihara agent run`, beside node_exporter.

All run as separate processes on this machine, measured from /proc in the same run:
- pelihara: `pelihara agent run --interval 1` into the embedded SQLite store (so a cycle is
  sample + spool + store write, the whole job), CPU over N cycles / N, and its RSS;
- the same agent as one file (`pelihara agent package`) on the distribution's own
  /usr/bin/python3 with python3-psutil, as it runs on a server;
- start-up: the whole-process CPU of one `facts --format json`, installed and as the file,
  beside `python3 -c "import psutil"` (the floor: an interpreter that loads psutil);
- baseline: prometheus-node-exporter (Debian), scraped N times over HTTP, CPU over the N
  scrapes / N, and its RSS. node_exporter only answers scrapes; storing is the scraper's
  work, so the comparison is generous to it.

    .venv/bin/python bench/agent_overhead.py [--cycles 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
EXPORTER = "prometheus-node-exporter"


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_mb: float


def usage(pid: int) -> Usage:
    """CPU (user + system) and resident memory of PID, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss_kb = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return Usage(cpu, rss_kb / 1024)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    sys.exit("timed out waiting for the process under test")


PELIHARA = str(Path(sys.executable).parent / "pelihara")
SERVER_PYTHON = "/usr/bin/python3"


def measure_agent(argv: list[str], cycles: int, home: Path) -> tuple[Usage, float]:
    """ARGV (an agent's `run --interval 1`) over CYCLES seconds of steady state."""
    env = {**os.environ, "PELIHARA_HOME": str(home)}
    env.pop("PELIHARA_TSDB", None)
    process = subprocess.Popen([*argv, "run", "--interval", "1"], env=env)
    try:
        time.sleep(3)  # start-up and the first cycles are not steady state
        before, started = usage(process.pid), time.monotonic()
        time.sleep(cycles)
        after, elapsed = usage(process.pid), time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=20)
    measured_cycles = round(elapsed)
    return Usage((after.cpu_seconds - before.cpu_seconds) / measured_cycles, after.rss_mb), elapsed


def measure_exporter(scrapes: int) -> Usage:
    binary = shutil.which(EXPORTER) or "/usr/bin/" + EXPORTER
    if not Path(binary).exists():
        sys.exit(f"{EXPORTER} is not installed: apt-get install {EXPORTER}")
    port = free_port()
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--no-collector.systemd"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        wait_for(lambda: _answers(opener, url), 10)
        for _ in range(3):
            opener.open(url, timeout=10).read()
        before = usage(process.pid)
        for _ in range(scrapes):
            opener.open(url, timeout=10).read()
            time.sleep(0.2)
        after = usage(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return Usage((after.cpu_seconds - before.cpu_seconds) / scrapes, after.rss_mb)


def startup_cpu_ms(argv: list[str], repeat: int = 5) -> float:
    """Median whole-process CPU (user + system) of ARGV, run REPEAT times, in ms."""
    samples = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(samples) * 1000


def _answers(opener: urllib.request.OpenerDirector, url: str) -> bool:
    try:
        opener.open(url, timeout=1).read()
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30)
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    machine = f"nproc {os.cpu_count()}, {platform.platform()}"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"clock ticks: {CLOCK_TICKS}/s (CPU figures are multiples of {1000 / CLOCK_TICKS:.0f} ms "
          "summed over the run, then divided)\n")  # fmt: skip
    if not Path(SERVER_PYTHON).exists():
        sys.exit(f"{SERVER_PYTHON} is missing: apt-get install python3 python3-psutil")
    with tempfile.TemporaryDirectory(prefix="pelihara-agent-bench-") as home:
        pyz = Path(home) / "pelihara-agent.pyz"
        subprocess.run([PELIHARA, "agent", "package", "-o", str(pyz)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        pyz_size = pyz.stat().st_size
        installed = [PELIHARA, "agent"]
        one_file = [SERVER_PYTHON, str(pyz)]
        agent, elapsed = measure_agent(installed, args.cycles, Path(home) / "a")
        agent_file, _ = measure_agent(one_file, args.cycles, Path(home) / "b")
        facts = ["facts", "--format", "json"]
        startup = {
            "pelihara agent facts --format json": startup_cpu_ms([*installed, *facts]),
            "python3 pelihara-agent.pyz facts --format json": startup_cpu_ms([*one_file, *facts]),
            'python3 -c "import psutil" (floor)': startup_cpu_ms(
                [SERVER_PYTHON, "-c", "import psutil"]
            ),
        }
    exporter = measure_exporter(args.cycles)
    print(f"{'':40}{'CPU ms/cycle':>14}{'RSS MB':>10}")
    for name, measured in (("pelihara agent run (sqlite)", agent),
                           ("pelihara-agent.pyz run, /usr/bin/python3", agent_file),
                           ("node_exporter, one scrape", exporter)):  # fmt: skip
        print(f"{name:40}{measured.cpu_seconds * 1000:>14.1f}{measured.rss_mb:>10.1f}")
    print(f"\nratio pelihara / node_exporter: CPU {agent.cpu_seconds / exporter.cpu_seconds:.2f}x, "
          f"RSS {agent.rss_mb / exporter.rss_mb:.2f}x   (target: <= 1x both)")  # fmt: skip
    print(f"({round(elapsed)} agent cycles and {args.cycles} scrapes measured)\n")
    print(f"{'start-up, whole process (median of 5)':50}{'CPU ms':>10}")
    for name, cpu_ms in startup.items():
        print(f"{name:50}{cpu_ms:>10.0f}")
    print(f"the file: {pyz.name}, {pyz_size} bytes")


if __name__ == "__main__":
    main()
