"""dnsmasq on 127.0.0.1 serving a small test zone: A records, their PTRs and a CNAME."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.realservers.base import (
    RunningServer,
    free_port,
    make_temp_dir,
    removed_on_error,
    require_binary,
    start_process,
    start_retrying,
)

DNSMASQ = "dnsmasq"
PACKAGE = "dnsmasq-base"
ZONE = "test.lab"
REVERSE_ZONE = "10.in-addr.arpa"

# name -> IPv4 address (A records; dnsmasq answers the matching PTRs by itself)
A_RECORDS: dict[str, str] = {
    f"web1.{ZONE}": "10.0.0.11",
    f"web2.{ZONE}": "10.0.0.12",
    f"db1.{ZONE}": "10.0.1.21",
    f"mail.{ZONE}": "10.0.2.25",
}
# alias -> canonical name (the target must be a name dnsmasq knows)
CNAME_RECORDS: dict[str, str] = {
    f"www.{ZONE}": f"web1.{ZONE}",
}


def reverse_name(address: str) -> str:
    """`10.0.0.11` -> `11.0.0.10.in-addr.arpa` (no trailing dot)."""
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"


@dataclass(frozen=True)
class DnsServer:
    """What a test needs to resolve against the running dnsmasq (names without trailing dot)."""

    host: str
    port: int
    server: RunningServer
    zone: str = ZONE
    reverse_zone: str = REVERSE_ZONE
    a_records: dict[str, str] = field(default_factory=lambda: dict(A_RECORDS))
    ptr_records: dict[str, str] = field(
        default_factory=lambda: {reverse_name(a): n for n, a in A_RECORDS.items()}
    )
    cname_records: dict[str, str] = field(default_factory=lambda: dict(CNAME_RECORDS))
    unknown_name: str = f"no-such-host.{ZONE}"


def start_dnsmasq(extra: Sequence[str] = ()) -> DnsServer:
    """Start dnsmasq in the foreground on a free UDP+TCP port; wait until TCP accepts.

    EXTRA: more dnsmasq options, e.g. `--host-record=name,addr` or `--local=/zone/`.
    """
    dnsmasq = require_binary(DNSMASQ, PACKAGE)
    port = free_port(tcp=True, udp=True)
    with removed_on_error(make_temp_dir("dnsmasq")) as directory:
        hosts = directory / "hosts"
        lines = [f"{address} {name}\n" for name, address in A_RECORDS.items()]
        hosts.write_text("".join(lines), encoding="ascii")
        argv = [
            dnsmasq, "--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null",
            f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--no-poll", "--user=root", "--group=root",
            "--pid-file=", f"--local=/{ZONE}/", f"--local=/{REVERSE_ZONE}/",
            f"--addn-hosts={hosts}",
        ]  # fmt: skip
        argv += [f"--cname={alias},{target}" for alias, target in CNAME_RECORDS.items()]
        argv += list(extra)
        server = start_process("dnsmasq", argv, port, directory, directory / "dnsmasq.log")
        server.wait_ready(lambda: server.listening("tcp") and server.listening("udp"))
    return DnsServer(host=server.host, port=port, server=server)


@contextmanager
def running_dnsmasq(extra: Sequence[str] = ()) -> Iterator[DnsServer]:
    """A running dnsmasq for the duration of the block."""
    dns = start_retrying(lambda: start_dnsmasq(extra))
    try:
        yield dns
    finally:
        dns.server.stop()
