"""`pelihara agent run`: health samples into the time-series store, through the spool.

Every cycle: one sample, appended durably to the spool, then a flush attempt. When the
store is down the points wait in the spool (up to its cap; what the cap drops is counted
and reported) and the next cycles send them, oldest first. SIGTERM ends the loop after a
last flush; nothing that was sampled is lost. A store that refuses the credentials or every
request ends the loop with its error (the points wait): only a fix of the configuration helps.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType

from pelihara.agent.health import Sampler
from pelihara.timeseries import open_store, spool_path
from pelihara.timeseries.spool import FlushResult, Spool


def warn(message: str) -> None:
    """One line on stderr (the journal, under systemd). Not `logging`: it alone adds ~1 MB RSS
    to an agent that should weigh no more than node_exporter."""
    sys.stderr.write(f"pelihara agent: {message}\n")
    sys.stderr.flush()


FINAL_FLUSH_SECONDS = 5.0


@dataclass(frozen=True)
class AgentOptions:
    tsdb: str | None = None
    interval: float = 10.0
    spool_cap: int = 1_000_000
    host: str | None = None  # the `host` tag; default: this machine's name as the inventory


class Agent:
    """The sampler, the store and its spool; `cycle()` once, or `run()` until stopped."""

    def __init__(self, options: AgentOptions) -> None:
        self.options = options
        self.store = open_store(options.tsdb)
        path = spool_path(self.store.url, "agent")
        self.spool = Spool(path, self.store, cap=options.spool_cap, warn=warn)
        self.sampler = Sampler(options.host)
        self.stop = threading.Event()

    def cycle(self, deadline: float | None = None) -> FlushResult:
        """Sample, spool, try to send what is pending."""
        dropped = self.spool.add(self.sampler.sample())
        if dropped:
            warn(f"spool full: dropped the {dropped} oldest points")
        return self.spool.flush(deadline)

    def run(self) -> None:
        """Cycle every `interval` seconds (aligned to the clock) until `stop` is set."""
        while not self.stop.is_set():
            started = time.monotonic()
            result = self.cycle(deadline=started + self.options.interval)
            if result.error is not None and not result.deferred:
                warn(f"store unavailable, {result.pending} points kept: {result.error}")
            self.stop.wait(max(0.0, self.options.interval - (time.monotonic() - started)))

    def close(self) -> FlushResult:
        """A last flush (bounded), then close; the spool keeps whatever did not go."""
        try:
            return self.spool.flush(time.monotonic() + FINAL_FLUSH_SECONDS, force=True)
        finally:
            self.spool.close()
            self.store.close()


def stop_on_signals(agent: Agent) -> None:
    """SIGTERM and SIGINT end the loop cleanly (systemd stops services with SIGTERM)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        agent.stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
