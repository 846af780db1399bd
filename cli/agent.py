"""`pelihara agent`: commands that run ON a server."""

from __future__ import annotations

from collections.abc import Iterator, Sized
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pelihara.cli.app import SuggestingGroup
from pelihara.cli.output import error, print_table, size_text, warning, wide_option

if TYPE_CHECKING:
    from pelihara.agent.gather import Scope
    from pelihara.agent.run import Agent
    from pelihara.facts.model import Cpu, Disk, Facts
    from pelihara.timeseries.spool import FlushResult


@click.group(cls=SuggestingGroup)
def agent() -> None:
    """Runs on a server: facts and health samples."""


@agent.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: for people; json: the stable, versioned form for programs.",
)
@click.option(
    "--scope",
    type=click.Choice(["all", "hardware"]),
    default="all",
    show_default=True,
    help="hardware: identity, CPU, memory, disks, interfaces and OS only (what `pelihara "
    "verify` compares); services, ports, packages and host keys are not read (null).",
)
@wide_option
def facts(output_format: str, scope: Scope) -> None:
    """Print this server's facts (table or JSON).

    Identity (host name, machine-id, DMI vendor/product/serial, boot time), CPU, memory,
    disks with their mounts, network interfaces, OS, services, listening ports, packages
    and SSH host key fingerprints.

    `--format json` is the stable, versioned form other pelihara commands read: it carries
    `schema_version`, sorted keys and UTC times ending in `Z`, and a value that could not be
    read (no privilege, no such file) is null, never a guess: a list that was not read (its
    tool missing or failed, or outside `--scope`) is null, an empty list means "none"
    (facts schema 2). Processes are named, never their command lines or environments.
    When pelihara is installed on a server, `pelihara collect` and snapshots run this over
    SSH instead of reading the raw tools' output (`pelihara verify` with `--scope hardware`).

    \b
    Examples:
      pelihara agent facts
      pelihara agent facts --format json > facts.json
      pelihara agent facts --format json --scope hardware
    """
    from pelihara.agent.gather import gather_facts
    from pelihara.facts.model import facts_to_json

    found = gather_facts(scope)
    if output_format == "json":
        click.echo(facts_to_json(found, indent=2))
        return
    print_table(("fact", "value"), summary_rows(found), title="Server")
    print_table(("disk", "size", "model", "serial", "mounts"), disk_rows(found),
                title=listed("Disks", found.disks))  # fmt: skip
    print_table(("interface", "MAC", "up", "speed", "IPv4", "IPv6"), interface_rows(found),
                title=listed("Interfaces", found.interfaces))  # fmt: skip


def summary_rows(facts: Facts) -> Iterator[tuple[str, object]]:
    who, system = facts.identity, facts.os
    yield from (("hostname", who.hostname), ("fqdn", who.fqdn), ("machine-id", who.machine_id))
    yield from (("vendor", who.dmi_vendor), ("product", who.dmi_product))
    yield from (("serial", who.dmi_serial), ("booted", who.boot_time))
    yield "CPU", cpu_text(facts.cpu)
    yield "memory", size_text(facts.memory_total_bytes)
    yield "OS", f"{known(system.name)} (kernel {known(system.kernel)})"
    yield "services", count(facts.services)
    yield "listening ports", count(facts.listening_ports)
    yield "packages", count(facts.packages)
    yield "SSH host keys", count(facts.ssh_host_keys)


NOT_READ = "not read"


def count(items: Sized | None) -> object:
    """How many items a list fact holds; "not read" for one that was not (None)."""
    return NOT_READ if items is None else len(items)


def listed(title: str, items: Sized | None) -> str:
    """A table's title, saying when its list was not read (an empty table would say "none")."""
    return title if items is not None else f"{title} ({NOT_READ})"


def cpu_text(cpu: Cpu) -> str:
    counts = f"{known(cpu.sockets)} sockets, {known(cpu.cores)} cores, {known(cpu.threads)} threads"
    return f"{known(cpu.model)} ({counts})"


def known(value: object) -> str:
    return "?" if value is None else str(value)


def disk_rows(facts: Facts) -> Iterator[tuple[object, ...]]:
    for disk in facts.disks or ():
        yield disk.name, size_text(disk.size_bytes), disk.model, disk.serial, mounts_text(disk)


def mounts_text(disk: Disk) -> str:
    if disk.mounts is None:
        return NOT_READ
    return ", ".join(f"{mount.path} ({mount.fstype})" for mount in disk.mounts)


def interface_rows(facts: Facts) -> Iterator[tuple[object, ...]]:
    for nic in facts.interfaces or ():
        up = None if nic.is_up is None else ("yes" if nic.is_up else "no")
        speed = f"{nic.speed_mbps} Mb/s" if nic.speed_mbps else None
        yield nic.name, nic.mac, up, speed, " ".join(nic.ipv4), " ".join(nic.ipv6)


@agent.command("run")
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds between samples.")  # fmt: skip
@click.option("--once", is_flag=True, help="Take one sample, send it, exit (for cron).")
@click.option("--tsdb", metavar="URL", envvar="PELIHARA_TSDB",
              help="Time-series store URL (default: the embedded one).")  # fmt: skip
@click.option("--spool-cap", default=1_000_000, show_default=True, type=click.IntRange(1),
              help="Points kept while the store is down; the oldest over it are dropped, "
              "counted and reported.")  # fmt: skip
@click.option("--host", metavar="NAME", envvar="PELIHARA_HOST",
              help="The host tag of the samples: the server's hostname in the inventory "
              "(default: this machine's name, first label, lowercase).")  # fmt: skip
@click.pass_context
def run(
    ctx: click.Context, interval: float, once: bool, tsdb: str | None, spool_cap: int,
    host: str | None,
) -> None:  # fmt: skip
    """Send health samples of this machine to the time-series store.

    CPU (total and per core), load, memory and swap, filesystems, disk I/O, network
    traffic and errors, process count, uptime. Points go first into a local spool
    (in the data directory) and leave it only when the store has them: a store that is
    down loses nothing. As a service: `pelihara agent run` (SIGTERM flushes and exits;
    see examples/pelihara-agent.service). From cron: `pelihara agent run --once`.

    Exit status with --once: 0 sent; 4 the store is unreachable (the sample is kept in
    the spool for the next run); 2 the store refused the credentials, or every request
    (HTTP 400 to everything: a wrong tenant or path, a proxy; the points are kept). As a
    service, stopped by SIGTERM or Ctrl-C: 0, also while the store is down (what could not
    be sent in 5 s stays in the spool for the next start). `pelihara tsdb spool` shows what
    waits.
    """
    from pelihara.agent.run import Agent, AgentOptions
    from pelihara.timeseries.base import StoreError

    options = AgentOptions(tsdb=tsdb, interval=interval, spool_cap=spool_cap, host=host)
    runner = Agent(options)
    try:
        result = _run_agent(runner, once)
    except StoreError as failure:  # credentials, or every request refused: only a fix helps
        pending = runner.spool.stats().pending
        runner.spool.close()
        runner.store.close()
        error(f"{failure}; {pending} points kept in the spool")
        ctx.exit(failure.exit_code)
    if result.error is None:
        return
    if once:
        error(f"{result.error}; {result.pending} points kept in the spool for the next run")
        ctx.exit(int(getattr(result.error, "exit_code", 4)))
    # A service asked to stop has done its job: the points wait for its next start.
    warning(f"stopped while the store is unavailable ({result.error}); "
            f"{result.pending} points kept in the spool for the next start")  # fmt: skip


def _run_agent(runner: Agent, once: bool) -> FlushResult:
    """One cycle, or cycles until SIGTERM/SIGINT; then the last flush (see `Agent.close`)."""
    import time

    from pelihara.agent.run import stop_on_signals

    if once:
        time.sleep(0.5)  # CPU percentages need an interval to measure over
        runner.cycle()
    else:
        stop_on_signals(runner)
        runner.run()
    dropped = runner.spool.report().dropped_over_cap_since_report
    result = runner.close()
    if dropped:
        error(f"the spool was full: {dropped} oldest points were dropped")
    return result


@agent.command("package")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("pelihara-agent.pyz"), show_default=True,
              help="The file to write (replaced if it exists).")  # fmt: skip
def package(output: Path) -> None:
    """Build the agent as ONE file to copy onto a server, as node_exporter is one binary.

    The file is a Python zipapp: `facts` and `run` with the same options as
    `pelihara agent facts` and `pelihara agent run`, for the server's own python3
    (3.11 or newer). It carries click; psutil is a C extension built for the server's
    Python, so the distribution provides it. Nothing else is installed on the server:
    no pip, no venv. It writes to the embedded store and to victoriametrics://;
    influxdb:// needs pelihara installed with pip.

    \b
    Copy it, install psutil, run it:
      pelihara agent package -o pelihara-agent.pyz
      ssh root@SERVER mkdir -p /usr/local/lib/pelihara
      scp pelihara-agent.pyz root@SERVER:/usr/local/lib/pelihara/
      ssh root@SERVER apt-get install python3-psutil
      ssh root@SERVER python3 /usr/local/lib/pelihara/pelihara-agent.pyz facts

    \b
    As a service, examples/pelihara-agent-pyz.service:
      ExecStart=/usr/bin/python3 /usr/local/lib/pelihara/pelihara-agent.pyz run
    (cp it to /etc/systemd/system/, then
    systemctl enable --now pelihara-agent-pyz).

    Prints the file's path, size and SHA-256: compare it with `sha256sum` on the server.
    Built again from the same pelihara and click, the file is the same, byte for byte.
    """
    from pelihara.agent.package import build_zipapp, sha256_hex

    written = build_zipapp(output)
    size = written.stat().st_size
    click.echo(f"{written}\n  size    {size} bytes ({size_text(size)})\n"
               f"  sha256  {sha256_hex(written)}")  # fmt: skip
