"""The local probe: this machine's facts through the agent, no network.

For a single-host user and the demo: `pelihara verify --probe local HOST` checks the
inventory's record HOST against the machine pelihara runs on.
"""

from __future__ import annotations

import asyncio

from pelihara.agent.gather import gather_facts
from pelihara.collector.probes.base import ProbeResult, ProbeStatus, Target
from pelihara.facts.model import facts_to_dict


class LocalProbe:
    name = "local"

    async def probe(self, target: Target) -> ProbeResult:
        facts = await asyncio.to_thread(gather_facts)
        data = {"facts": facts_to_dict(facts)}
        return ProbeResult(target.hostname, self.name, ProbeStatus.OK, data=data, facts=facts)

    async def close(self) -> None:
        return None
