"""Small pure parts of agent.formats that both the agent and the collector rely on."""

from __future__ import annotations

from pelihara.agent.formats import (
    mac_address,
    merge_ports,
    optional_text,
    plain_address,
    sorted_addresses,
)
from pelihara.facts.model import ListeningPort


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


def test_optional_text_never_gives_an_empty_string() -> None:
    assert optional_text("  ") is None and optional_text(None) is None
    assert optional_text(" PowerEdge R740 \n") == "PowerEdge R740"
