"""The dns_server fixture: A, PTR, CNAME and NXDOMAIN answers through dnspython."""

from __future__ import annotations

import dns.resolver
import dns.reversename
import pytest

from tests.realservers.dnsmasq import DnsServer


def _resolver(dns_server: DnsServer) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns_server.host]
    resolver.port = dns_server.port
    resolver.lifetime = 5.0
    return resolver


def test_a_records(dns_server: DnsServer) -> None:
    resolver = _resolver(dns_server)
    assert dns_server.a_records
    for name, address in dns_server.a_records.items():
        assert name.endswith("." + dns_server.zone)
        answer = resolver.resolve(name, "A")
        assert [rdata.to_text() for rdata in answer] == [address]


def test_ptr_records(dns_server: DnsServer) -> None:
    resolver = _resolver(dns_server)
    assert len(dns_server.ptr_records) == len(dns_server.a_records)
    for name, address in dns_server.a_records.items():
        reverse = dns.reversename.from_address(address)
        assert reverse.to_text(omit_final_dot=True) in dns_server.ptr_records
        answer = resolver.resolve(reverse, "PTR")
        assert [rdata.to_text() for rdata in answer] == [name + "."]


def test_cname_record(dns_server: DnsServer) -> None:
    resolver = _resolver(dns_server)
    assert dns_server.cname_records
    for alias, target in dns_server.cname_records.items():
        answer = resolver.resolve(alias, "CNAME")
        assert [rdata.to_text() for rdata in answer] == [target + "."]
        followed = resolver.resolve(alias, "A")
        assert followed.canonical_name.to_text(omit_final_dot=True) == target
        assert [rdata.to_text() for rdata in followed] == [dns_server.a_records[target]]


def test_unknown_name_is_nxdomain(dns_server: DnsServer) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        _resolver(dns_server).resolve(dns_server.unknown_name, "A")


def test_unknown_reverse_is_nxdomain(dns_server: DnsServer) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        _resolver(dns_server).resolve(dns.reversename.from_address("10.9.9.9"), "PTR")
