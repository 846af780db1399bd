"""Wrappers around a REAL store that add one fault of our own `Store` interface, for spool tests.

Allowed here because they fake no protocol: the wrapped store (SQLite, VictoriaMetrics) does the
real writing. They exist for faults no real store produces on demand: an outage switched on
and off at one exact write, a crash of the writer right after the store acknowledged a batch,
a write that takes time on a test clock. (Refused points need no wrapper: every backend
refuses what line protocol cannot carry, e.g. an empty tag value, with BadPointsError.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pelihara.timeseries.base import Point, Query, Store, StoreUnavailable


class SimulatedCrash(Exception):
    """The writer died right after the store acknowledged a batch."""


class StoreWrapper:
    """Forwards to INNER and records every write call's points."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.url = inner.url
        self.writes: list[list[Point]] = []

    def write(self, points: Sequence[Point]) -> None:
        self.writes.append(list(points))
        self.inner.write(points)

    def query(self, query: Query) -> list[Point]:
        return self.inner.query(query)

    def close(self) -> None:
        self.inner.close()


class OutageStore(StoreWrapper):
    """Raises StoreUnavailable while `down` is true."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.down = False

    def write(self, points: Sequence[Point]) -> None:
        if self.down:
            self.writes.append(list(points))
            raise StoreUnavailable(f"{self.url}: down (test outage)")
        super().write(points)


class CrashAfterAckStore(StoreWrapper):
    """Writes, then raises SimulatedCrash on the write number CRASH_AT (1-based)."""

    def __init__(self, inner: Store, crash_at: int) -> None:
        super().__init__(inner)
        self.crash_at = crash_at

    def write(self, points: Sequence[Point]) -> None:
        super().write(points)
        if len(self.writes) == self.crash_at:
            raise SimulatedCrash(f"killed after write {self.crash_at} was acknowledged")


class TimedStore(StoreWrapper):
    """Calls TICK after every write: a test clock moves on as if each write took time."""

    def __init__(self, inner: Store, tick: Callable[[], None]) -> None:
        super().__init__(inner)
        self.tick = tick

    def write(self, points: Sequence[Point]) -> None:
        super().write(points)
        self.tick()
