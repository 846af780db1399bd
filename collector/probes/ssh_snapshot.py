"""Snapshots over SSH: the full facts bundle and one health sample in ONE exec channel.

The health script (`ssh_health`) and the full bundle (`facts.bundle.BUNDLE`, not the lighter
one verify sends) are both fixed text; one runs after the other in the same `sh -s`, and
each answer is framed by its own header and end line, so each parser finds its own part.
"""

from __future__ import annotations

from typing import Any

from pelihara.collector.probes.ssh import SshProbe
from pelihara.collector.probes.ssh_health import HEALTH_SCRIPT, parse_health
from pelihara.facts.bundle import BUNDLE, parse_bundle
from pelihara.facts.model import Facts, facts_to_dict

SNAPSHOT_SCRIPT = HEALTH_SCRIPT + BUNDLE


class SnapshotSshProbe(SshProbe):
    """Full facts plus health over SSH (same connection rules and host key checks)."""

    script = SNAPSHOT_SCRIPT

    def read(self, text: str) -> tuple[dict[str, Any], Facts | None]:
        facts = parse_bundle(text)
        return {"facts": facts_to_dict(facts), "health": parse_health(text)}, facts
