"""Interfaces and listening ports: the address rules the agent and the collector share, and
the `ip`, sysfs and `ss` sections on recorded outputs in tests/fixtures/bundle."""

from __future__ import annotations

import pytest

from pelihara.facts.model import ListeningPort
from pelihara.facts.network import (
    mac_address,
    merge_ports,
    parse_ip_addr,
    parse_net_speeds,
    parse_ss,
    plain_address,
    sorted_addresses,
)
from pelihara.facts.output import OutputFormatError
from tests.facts.recorded import DEBIAN, ROCKY, section


def test_mac_address_keeps_hardware_addresses_only() -> None:
    assert mac_address("B0:7B:25:DE:AD:01") == "b0:7b:25:de:ad:01"
    assert mac_address("00:00:00:00:00:00") is None  # loopback
    assert mac_address("0.0.0.0") is None  # an ipip tunnel's "link address"
    assert mac_address("00:00:00:00") is None  # the same, as getifaddrs gives it
    assert mac_address("") is None and mac_address(None) is None
    infiniband = ":".join(["80"] + ["0a"] * 19)
    assert mac_address(infiniband) == infiniband


def test_plain_address_drops_brackets_and_zone() -> None:
    assert plain_address("[fe80::1]%eth0") == "fe80::1"
    assert plain_address("fe80::fc:ff:fe00:1%eth0") == "fe80::fc:ff:fe00:1"
    assert plain_address("127.0.0.53%lo") == "127.0.0.53"


def test_sorted_addresses_are_numeric_and_distinct() -> None:
    assert sorted_addresses(["10.0.0.10", "10.0.0.9", "10.0.0.9"]) == ("10.0.0.9", "10.0.0.10")


def test_merge_ports_sorts_by_protocol_port_address_and_prefers_a_visible_owner() -> None:
    found = [
        (ListeningPort("udp", "0.0.0.0", 53, "dnsmasq"), 20),
        (ListeningPort("tcp", "::", 22, None), None),
        (ListeningPort("tcp", "::", 22, "sshd"), 900),
        (ListeningPort("tcp", "0.0.0.0", 22, "sshd"), 900),
    ]
    assert merge_ports(found) == (
        ListeningPort("tcp", "0.0.0.0", 22, "sshd"),
        ListeningPort("tcp", "::", 22, "sshd"),
        ListeningPort("udp", "0.0.0.0", 53, "dnsmasq"),
    )


# --- network -----------------------------------------------------------------------------


def test_parse_net_speeds_unknown_is_none() -> None:
    assert parse_net_speeds(section(DEBIAN, "net-speed")) == {
        "eth0": None, "ifb0": None, "ifb1": None, "lo": None,
    }  # fmt: skip
    assert parse_net_speeds(section(ROCKY, "net-speed"))["eno1"] == 1000


def test_parse_ip_addr_on_the_recorded_vm() -> None:
    interfaces = {nic.name: nic for nic in parse_ip_addr(section(DEBIAN, "ip-addr"))}
    assert sorted(interfaces) == ["eth0", "ifb0", "ifb1", "lo"]
    eth0 = interfaces["eth0"]
    assert (eth0.mac, eth0.is_up, eth0.ipv4) == ("02:fc:00:00:00:01", True, ("192.0.2.2",))
    assert eth0.ipv6 == ("fd00::2", "fe80::fc:ff:fe00:1")
    assert interfaces["lo"].mac is None  # all zeros: no hardware address
    assert interfaces["ifb0"].is_up is False


def test_parse_ip_addr_on_the_server() -> None:
    speeds = parse_net_speeds(section(ROCKY, "net-speed"))
    interfaces = {nic.name: nic for nic in parse_ip_addr(section(ROCKY, "ip-addr"), speeds)}
    eno1, eno2, wg0 = interfaces["eno1"], interfaces["eno2"], interfaces["wg0"]
    assert eno1.mac == "b0:7b:25:de:ad:01" and eno1.speed_mbps == 1000
    assert eno1.ipv4 == ("10.20.30.9", "10.20.30.41")  # numeric order, eno1:1 included
    assert eno2.is_up is False  # UP but NO-CARRIER: not running, as psutil's isup
    assert wg0.mac is None and wg0.is_up is True


def test_parse_ss_on_the_recorded_vm() -> None:
    assert parse_ss(section(DEBIAN, "ss")) == (ListeningPort("tcp", "0.0.0.0", 2024, None),)


def test_parse_ss_addresses_and_owners() -> None:
    ports = {(p.protocol, p.address, p.port): p.process for p in parse_ss(section(ROCKY, "ss"))}
    assert ports[("tcp", "::", 443)] == "nginx"  # `*` is the dual-stack IPv6 wildcard
    assert ports[("tcp", "127.0.0.53", 53)] == "systemd-resolve"  # `%lo` dropped
    assert ports[("udp", "::1", 323)] == "chronyd"
    assert ports[("tcp", "fe80::b27b:25ff:fede:ad01", 8080)] is None  # owner not visible
    assert len(ports) == 9


def test_parse_ss_names_a_shared_socket_after_its_lowest_pid() -> None:
    owners = 'users:(("worker",pid=9,fd=6),("master",pid=3,fd=6))'
    line = f"tcp LISTEN 0 511 0.0.0.0:80 0.0.0.0:* {owners}"
    assert parse_ss(line) == (ListeningPort("tcp", "0.0.0.0", 80, "master"),)


def test_parse_ss_refuses_a_line_it_cannot_read() -> None:
    with pytest.raises(OutputFormatError):
        parse_ss("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\n")
