"""The DNS probe against a real dnsmasq on 127.0.0.1, and its resolver-address parser.

One dnsmasq (module fixture) serves the `probe.lab` zone: a name with an A record and its PTR,
an A-only name, an AAAA-only name, a TXT-only name, a two-step CNAME chain, and forwards
`broken.lab` to a tiny upstream in this process that answers every query with SERVFAIL. The
timeout tests point the probe at a UDP socket that is bound but never answers.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import pytest

from pelihara.collector.checks import check_dns_forward, check_dns_reverse
from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Status
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.dns import DnsOptions, DnsProbe, Lookup, _lookup, parse_nameserver
from tests.realservers.dnsmasq import DnsServer, running_dnsmasq

HOST = "127.0.0.1"
ZONE = "probe.lab"
ADDRESS = "127.0.0.5"  # of host1.probe.lab (A and PTR)
V4_ONLY = f"host1.{ZONE}"
V6_ONLY = f"v6only.{ZONE}"
TXT_ONLY = f"txtonly.{ZONE}"
ALIAS, MIDDLE = f"alias.{ZONE}", f"middle.{ZONE}"  # alias -> middle -> host1
UNKNOWN = f"no-such-host.{ZONE}"
NO_PTR_ADDRESS = "127.0.0.99"  # inside the local reverse zone, without a PTR
BROKEN = "x.broken.lab"  # forwarded to the SERVFAIL upstream
TIMEOUT = 0.3


@dataclass
class ServfailUpstream:
    """A UDP DNS server on 127.0.0.1 that answers every query with rcode SERVFAIL."""

    sock: socket.socket
    queries: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            self.queries.append(query.question[0].name.to_text(omit_final_dot=True))
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            self.sock.sendto(response.to_wire(), peer)


@pytest.fixture(scope="module")
def servfail_upstream() -> Iterator[ServfailUpstream]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(0.05)
        upstream = ServfailUpstream(sock)
        thread = threading.Thread(target=upstream.serve, name="servfail-upstream", daemon=True)
        thread.start()
        try:
            yield upstream
        finally:
            upstream.stop.set()
            thread.join(timeout=5)


@pytest.fixture(scope="module")
def probe_dns(servfail_upstream: ServfailUpstream) -> Iterator[DnsServer]:
    records = [
        f"--local=/{ZONE}/",
        "--local=/127.in-addr.arpa/",
        f"--host-record={V4_ONLY},{ADDRESS}",  # A and PTR, no AAAA
        f"--host-record={V6_ONLY},::1",  # AAAA only
        f"--txt-record={TXT_ONLY},only-text",  # neither A nor AAAA
        f"--cname={ALIAS},{MIDDLE}",
        f"--cname={MIDDLE},{V4_ONLY}",
        f"--server=/broken.lab/{HOST}#{servfail_upstream.port}",
    ]
    with running_dnsmasq(records) as server:
        yield server


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A UDP port on 127.0.0.1 that is bound (so no ICMP refusal) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])


def make_probe(port: int, timeout: float = 5.0) -> DnsProbe:
    return DnsProbe(DnsOptions(((HOST, port),), timeout))


def run_probe(probe: DnsProbe, domain: str, *addresses: str) -> ProbeResult:
    return asyncio.run(probe.probe(Target("web-probe", domain, addresses)))


def lookup(probe: DnsProbe, name: str, rdtype: str) -> Lookup:
    return asyncio.run(_lookup(probe.resolver, name, rdtype))


# --- found ---------------------------------------------------------------------------------


def test_a_record_and_ptr_found(probe_dns: DnsServer) -> None:
    result = run_probe(make_probe(probe_dns.port), V4_ONLY, ADDRESS)
    assert result.status is ProbeStatus.OK and result.error is None
    assert result.data["forward"] == {"status": "ok", "values": [ADDRESS], "cnames": []}
    assert result.data["reverse"] == {ADDRESS: {"status": "ok", "values": [V4_ONLY], "cnames": []}}
    expected = Expected(Target("web-probe", V4_ONLY, (ADDRESS,)))
    findings = [*check_dns_forward(expected, {"dns": result}),
                *check_dns_reverse(expected, {"dns": result})]  # fmt: skip
    assert [(f.check, f.status) for f in findings] == [
        ("dns.forward", Status.OK),
        (f"dns.reverse {ADDRESS}", Status.OK),
    ]


def test_resolvers_are_asked_at_their_own_ports(probe_dns: DnsServer) -> None:
    """The first resolver's port is closed (refused at once), the second is dnsmasq's: each
    is asked at the port given with it, and the second answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        closed = int(sock.getsockname()[1])
    servers = [parse_nameserver(f"{HOST}:{closed}"), parse_nameserver(f"{HOST}:{probe_dns.port}")]
    assert servers == [(HOST, closed), (HOST, probe_dns.port)]
    probe = DnsProbe(DnsOptions(((HOST, closed), (HOST, probe_dns.port)), 5.0))
    assert lookup(probe, V4_ONLY, "A") == Lookup("ok", (ADDRESS,))
    assert lookup(DnsProbe(DnsOptions(((HOST, closed),), 1.0)), V4_ONLY, "A").status != "ok"


# --- nxdomain, no-answer -------------------------------------------------------------------


def test_unknown_name_and_address_are_nxdomain(probe_dns: DnsServer) -> None:
    result = run_probe(make_probe(probe_dns.port), UNKNOWN, NO_PTR_ADDRESS)
    assert result.status is ProbeStatus.OK  # the server answered: the name does not exist
    assert result.data["forward"]["status"] == "nxdomain"
    assert result.data["reverse"][NO_PTR_ADDRESS]["status"] == "nxdomain"


def test_a_without_aaaa_is_no_answer_for_aaaa_only(probe_dns: DnsServer) -> None:
    probe = make_probe(probe_dns.port)
    assert lookup(probe, V4_ONLY, "AAAA") == Lookup("no-answer")
    assert lookup(probe, V4_ONLY, "A") == Lookup("ok", (ADDRESS,))
    forward = run_probe(probe, V4_ONLY).data["forward"]  # the missing AAAA does not spoil it
    assert forward == {"status": "ok", "values": [ADDRESS], "cnames": []}


def test_aaaa_without_a_is_no_answer_for_a_only(probe_dns: DnsServer) -> None:
    probe = make_probe(probe_dns.port)
    assert lookup(probe, V6_ONLY, "A") == Lookup("no-answer")
    assert lookup(probe, V6_ONLY, "AAAA") == Lookup("ok", ("::1",))
    forward = run_probe(probe, V6_ONLY).data["forward"]
    assert forward == {"status": "ok", "values": ["::1"], "cnames": []}


def test_name_without_addresses_is_no_answer_not_nxdomain(probe_dns: DnsServer) -> None:
    probe = make_probe(probe_dns.port)
    assert lookup(probe, TXT_ONLY, "A") == Lookup("no-answer")
    assert lookup(probe, TXT_ONLY, "AAAA") == Lookup("no-answer")
    result = run_probe(probe, TXT_ONLY)
    assert result.status is ProbeStatus.OK
    assert result.data["forward"]["status"] == "no-answer"


# --- servfail, timeout ---------------------------------------------------------------------


def test_upstream_servfail_is_servfail(
    probe_dns: DnsServer, servfail_upstream: ServfailUpstream
) -> None:
    probe = make_probe(probe_dns.port)
    name = f"servfail-test.{BROKEN}"  # a name nothing else asks for
    assert lookup(probe, name, "A") == Lookup("servfail")
    assert name in servfail_upstream.queries  # dnsmasq really asked the upstream
    result = run_probe(probe, BROKEN, ADDRESS)
    assert result.status is ProbeStatus.OK  # the server answered, with a failure
    assert result.data["forward"]["status"] == "servfail"
    assert result.data["reverse"][ADDRESS]["status"] == "ok"


def test_a_refusal_is_told_from_a_servfail(probe_dns: DnsServer) -> None:
    """dnsmasq without an upstream refuses names outside its zones (rcode REFUSED): not a
    SERVFAIL, which says the server tried and failed (before: both "servfail")."""
    probe = make_probe(probe_dns.port)
    assert lookup(probe, "web.elsewhere.example", "A") == Lookup("refused")
    result = run_probe(probe, "web.elsewhere.example", "192.0.2.7")
    assert result.data["forward"]["status"] == "refused"
    assert result.data["reverse"]["192.0.2.7"]["status"] == "refused"


def test_silent_resolver_is_timeout_and_unreachable(silent_port: int) -> None:
    probe = make_probe(silent_port, timeout=TIMEOUT)
    assert lookup(probe, V4_ONLY, "A") == Lookup("timeout")
    result = run_probe(probe, V4_ONLY, ADDRESS)
    assert result.status is ProbeStatus.UNREACHABLE
    assert result.error == "no DNS server answered"
    assert result.data["forward"]["status"] == "timeout"
    assert result.data["reverse"][ADDRESS]["status"] == "timeout"


def test_the_four_failures_are_told_apart(probe_dns: DnsServer, silent_port: int) -> None:
    probe = make_probe(probe_dns.port)
    statuses = {
        "nxdomain": lookup(probe, UNKNOWN, "A").status,
        "no-answer": lookup(probe, TXT_ONLY, "A").status,
        "servfail": lookup(probe, BROKEN, "A").status,
        "timeout": lookup(make_probe(silent_port, timeout=TIMEOUT), V4_ONLY, "A").status,
    }
    assert statuses == {name: name for name in statuses}
    expected = Expected(Target("web-probe", UNKNOWN, (ADDRESS,)))
    kinds: dict[str | None, Status] = {}
    for domain in (UNKNOWN, TXT_ONLY, BROKEN):
        [finding] = check_dns_forward(expected, {"dns": run_probe(probe, domain, ADDRESS)})
        kinds[finding.observed] = finding.status
    assert kinds == {"nxdomain": Status.MISSING, "no-answer": Status.MISSING,
                     "servfail": Status.ERROR}  # fmt: skip


# --- CNAME chains --------------------------------------------------------------------------


def test_cname_chain_is_followed_and_reported(probe_dns: DnsServer) -> None:
    probe = make_probe(probe_dns.port)
    assert lookup(probe, ALIAS, "A") == Lookup("ok", (ADDRESS,), (MIDDLE, V4_ONLY))
    result = run_probe(probe, ALIAS, ADDRESS)
    assert result.data["forward"] == {"status": "ok", "values": [ADDRESS],
                                      "cnames": [MIDDLE, V4_ONLY]}  # fmt: skip
    [finding] = check_dns_forward(Expected(Target("web-probe", ALIAS, (ADDRESS,))),
                                  {"dns": result})  # fmt: skip
    assert finding.status is Status.OK
    assert finding.observed == f"{ALIAS} -> {MIDDLE} -> {V4_ONLY} -> {ADDRESS}"


# --- parse_nameserver ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1", ("127.0.0.1", None)),
        ("127.0.0.53:5353", ("127.0.0.53", 5353)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
        ("::1", ("::1", None)),
        ("[::1]", ("::1", None)),
        ("[::1]:5353", ("::1", 5353)),
        ("[0:0::1]:53", ("::1", 53)),  # normalised
    ],
)
def test_parse_nameserver_accepts(text: str, parsed: tuple[str, int | None]) -> None:
    assert parse_nameserver(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "does not appear to be an IPv4 or IPv6 address"),
        ("localhost", "does not appear to be an IPv4 or IPv6 address"),
        ("127.0.0.256", "does not appear to be an IPv4 or IPv6 address"),
        ("127.0.0.1:53:53", "does not appear to be an IPv4 or IPv6 address"),
        ("[nonsense]:53", "does not appear to be an IPv4 or IPv6 address"),
        ("127.0.0.1:", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:dns", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:-53", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:65536", "the port must be a number from 1 to 65535"),
        ("[::1]:", "the port must be a number from 1 to 65535"),
        ("[::1]:99999", "the port must be a number from 1 to 65535"),
        ("[::1", r"expected \[IPV6\] or \[IPV6\]:PORT"),
        ("[::1]5353", r"expected \[IPV6\] or \[IPV6\]:PORT"),
    ],
)
def test_parse_nameserver_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nameserver(text)
