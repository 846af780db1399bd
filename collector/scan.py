"""Running probes over many hosts concurrently; one host failing never stops the scan.

Each host's probes run together; `on_host` is called as each host finishes (to store it
and advance a progress bar), so an interrupted scan keeps the hosts already done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from pelihara.collector.checks import verify_host
from pelihara.collector.expectations import Expected
from pelihara.collector.outcomes import HostOutcome
from pelihara.collector.probes.base import Probe, ProbeResult, ProbeStatus


async def _safe_probe(probe: Probe, expected: Expected) -> ProbeResult:
    """A probe's result; a bug in a probe becomes an error result for this host only."""
    try:
        return await probe.probe(expected.target)
    except Exception as exc:  # one host's failure must not end the scan
        message = f"{type(exc).__name__}: {exc}"
        return ProbeResult(expected.hostname, probe.name, ProbeStatus.ERROR, error=message)


async def probe_host(expected: Expected, probes: Sequence[Probe]) -> dict[str, ProbeResult]:
    """All probes of one host at once: their results by source."""
    results = await asyncio.gather(*(_safe_probe(probe, expected) for probe in probes))
    return {result.source: result for result in results}


async def verify_one(expected: Expected, probes: Sequence[Probe]) -> HostOutcome:
    """All probes of one host at once, then the checks."""
    by_source = await probe_host(expected, probes)
    return HostOutcome(expected, by_source, verify_host(expected, by_source))


Look = Callable[[Expected, Sequence[Probe]], Awaitable[HostOutcome]]


async def scan(
    hosts: Sequence[Expected],
    probes: Sequence[Probe],
    concurrency: int,
    on_host: Callable[[HostOutcome], None],
    look: Look = verify_one,
) -> None:
    """LOOK at HOSTS (verify them, by default), at most CONCURRENCY at a time, calling
    ON_HOST as each is done.

    ON_HOST is called before the host's place goes to the next one: a host whose probes
    have finished is kept even when Ctrl-C comes at once."""
    gate = asyncio.Semaphore(concurrency)

    async def one(expected: Expected) -> None:
        async with gate:
            on_host(await look(expected, probes))

    try:
        await asyncio.gather(*(one(expected) for expected in hosts))
    finally:
        await asyncio.gather(*(probe.close() for probe in probes), return_exceptions=True)
