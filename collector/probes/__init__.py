"""Probes: one module per way of looking at a server, all with the `Probe` interface.

The registry maps a probe name to "module:Class" and imports lazily, so adding a probe is
one file and one line here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pelihara.collector.probes.base import Probe

REGISTRY: dict[str, str] = {
    "local": "pelihara.collector.probes.local:LocalProbe",
    "ssh": "pelihara.collector.probes.ssh:SshProbe",
    "snmp": "pelihara.collector.probes.snmp:SnmpProbe",
    "dns": "pelihara.collector.probes.dns:DnsProbe",
    # What `snapshot take` runs for ssh and local: the full facts and a health sample.
    "ssh-snapshot": "pelihara.collector.probes.ssh_snapshot:SnapshotSshProbe",
    "local-snapshot": "pelihara.collector.probes.local:SnapshotLocalProbe",
}


@contextmanager
def without_invoke() -> Iterator[None]:
    """A block (a command that uses SSH) in which paramiko, if imported, skips `invoke`.

    paramiko imports `invoke` for one feature only, `Match exec` in an OpenSSH client config,
    which pelihara never reads, and treats that import as optional: skipped, ~0.1 s of CPU
    at every start of such a command. Nothing is left behind: after the block, `import
    invoke` works again for whoever needs it (unless it was imported already: then nothing
    changes at all).
    """
    if "invoke" in sys.modules:
        yield
        return
    sys.modules["invoke"] = None  # type: ignore[assignment]  # `import invoke` fails
    try:
        yield
    finally:
        still: object = sys.modules.get("invoke", sys)  # None: still blocked by this block
        if still is None:
            del sys.modules["invoke"]


def make_probe(name: str, **options: Any) -> Probe:
    """An instance of the probe NAME, configured with OPTIONS."""
    module_name, _, class_name = REGISTRY[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    probe: Probe = cls(**options)
    return probe
