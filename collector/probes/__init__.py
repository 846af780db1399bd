"""Probes: one module per way of looking at a server, all with the `Probe` interface.

The registry maps a probe name to "module:Class" and imports lazily, so adding a probe is
one file and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from collector.probes.base import Probe

REGISTRY: dict[str, str] = {
    "local": "collector.probes.local:LocalProbe",
    "ssh": "collector.probes.ssh:SshProbe",
    "snmp": "collector.probes.snmp:SnmpProbe",
    "dns": "collector.probes.dns:DnsProbe",
}


def make_probe(name: str, **options: Any) -> Probe:
    """An instance of the probe NAME, configured with OPTIONS."""
    module_name, _, class_name = REGISTRY[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    probe: Probe = cls(**options)
    return probe
