"""The DNS probe (dnspython, asyncio): the domain's A/AAAA records and each address's PTR.

CNAME chains are followed and recorded. Outcomes are told apart: ok, nxdomain, no-answer
(the name exists without that record), servfail, refused (every server refused to answer),
timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
import dns.reversename

from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target


@dataclass(frozen=True)
class DnsOptions:
    nameservers: tuple[tuple[str, int], ...] = ()  # (address, port); empty: /etc/resolv.conf
    timeout: float = 3.0


def _parse_port(port: str, text: str) -> int:
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return int(port)


def parse_nameserver(text: str) -> tuple[str, int | None]:
    """`127.0.0.1`, `127.0.0.1:5353`, `[::1]:5353` -> (address, port or None)."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: expected [IPV6] or [IPV6]:PORT")
        return str(ipaddress.ip_address(host)), _parse_port(rest[1:], text) if rest else None
    host, sep, port = text.rpartition(":")
    if sep and "." in host:
        return str(ipaddress.ip_address(host)), _parse_port(port, text)
    return str(ipaddress.ip_address(text)), None


@dataclass(frozen=True)
class Lookup:
    status: str  # ok | nxdomain | no-answer | servfail | refused | timeout
    values: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "values": list(self.values), "cnames": list(self.cnames)}


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


async def _lookup(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> Lookup:
    try:
        answer = await resolver.resolve(name, rdtype, search=False)
    except dns.resolver.NXDOMAIN:
        return Lookup("nxdomain")
    except dns.resolver.NoAnswer:
        return Lookup("no-answer")
    except dns.resolver.NoNameservers as exc:
        return Lookup(_failure(exc))
    except dns.exception.Timeout:
        return Lookup("timeout")
    cnames = tuple(_text(cname.target) for cname in _cname_chain(answer))
    values = tuple(sorted(_rdata_text(rdata) for rdata in answer))
    return Lookup("ok", values, cnames)


def _failure(exc: dns.resolver.NoNameservers) -> str:
    """ "refused" when every server answered REFUSED (no such zone here, or not for us), else
    "servfail" (SERVFAIL, a failed DNSSEC validation, a broken answer)."""
    errors = exc.kwargs.get("errors") or []  # (server, tcp, port, error, response)
    refused = bool(errors) and all(str(error[3]) == "REFUSED" for error in errors)
    return "refused" if refused else "servfail"


def _rdata_text(rdata: Any) -> str:
    if rdata.rdtype == dns.rdatatype.PTR:
        return _text(rdata.target)
    return str(ipaddress.ip_address(rdata.address))


def _cname_chain(answer: dns.resolver.Answer) -> list[Any]:
    chain = answer.chaining_result.cnames if answer.chaining_result else []
    return [rdata for rrset in chain for rdata in rrset]


def _merge(a: Lookup, aaaa: Lookup) -> Lookup:
    """A and AAAA as one answer: addresses of both; the worse status when neither has any."""
    if a.status == "ok" or aaaa.status == "ok":
        return Lookup("ok", a.values + aaaa.values, a.cnames or aaaa.cnames)
    order = ("nxdomain", "servfail", "refused", "timeout", "no-answer")
    return min(a, aaaa, key=lambda lookup: order.index(lookup.status))


class DnsProbe:
    name = "dns"

    def __init__(self, options: DnsOptions) -> None:
        self.resolver = dns.asyncresolver.Resolver(configure=not options.nameservers)
        if options.nameservers:
            self.resolver.nameservers = [
                dns.nameserver.Do53Nameserver(address, port)
                for address, port in options.nameservers
            ]
        self.resolver.lifetime = options.timeout
        self.resolver.cache = None

    async def probe(self, target: Target) -> ProbeResult:
        reverse_names = [dns.reversename.from_address(a).to_text() for a in target.addresses]
        queries = [
            _lookup(self.resolver, target.domain, "A"),
            _lookup(self.resolver, target.domain, "AAAA"),
            *(_lookup(self.resolver, name, "PTR") for name in reverse_names),
        ]
        a, aaaa, *ptrs = await asyncio.gather(*queries)
        reverse = zip(target.addresses, ptrs, strict=True)
        data = {
            "forward": _merge(a, aaaa).as_dict(),
            "reverse": {address: ptr.as_dict() for address, ptr in reverse},
        }
        lookups = [a, aaaa, *ptrs]
        if all(lookup.status == "timeout" for lookup in lookups):
            return ProbeResult(target.hostname, self.name, ProbeStatus.UNREACHABLE, data=data,
                               error="no DNS server answered")  # fmt: skip
        return ProbeResult(target.hostname, self.name, ProbeStatus.OK, data=data)

    async def close(self) -> None:
        return None
