"""Probes: one module per way of looking at a server, all with the `Probe` interface.

The registry maps a probe name to "module:Class" and imports lazily, so adding a probe is
one file and one line here.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from pelihara.collector.probes.base import Probe

# paramiko (the ssh probes) imports `invoke` for one feature only, `Match exec` in an OpenSSH
# client config, which pelihara never reads, and treats that import as optional. Skipped:
# ~0.1 s of CPU at every start of a command that uses SSH. (Unless it is imported already.)
sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]

REGISTRY: dict[str, str] = {
    "local": "pelihara.collector.probes.local:LocalProbe",
    "ssh": "pelihara.collector.probes.ssh:SshProbe",
    "snmp": "pelihara.collector.probes.snmp:SnmpProbe",
    "dns": "pelihara.collector.probes.dns:DnsProbe",
}


def make_probe(name: str, **options: Any) -> Probe:
    """An instance of the probe NAME, configured with OPTIONS."""
    module_name, _, class_name = REGISTRY[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    probe: Probe = cls(**options)
    return probe
