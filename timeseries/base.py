"""What every time-series backend shares: the point, the store interface, the errors.

A backend is one module behind the `Store` protocol, chosen by URL scheme in
`timeseries.open_store`. Errors are split by what the caller must do about them, which is
what the spool (`timeseries.spool`) acts on:

- `BadPointsError`   the store refused exactly these points and wrote the others: set them
                     aside, go on
- `RefusedRequest`   the store refused a whole request (HTTP 400/422): some of its points, or
                     the request itself (a wrong tenant, a proxy, a body limit); the spool
                     splits it to find out (`timeseries.splitting`)
- `StoreAuthError`   401/403: keep every point, stop, and say so loudly
- `StoreUnavailable` 429, 5xx, timeouts, refused connections: keep, retry later with backoff

A store may also say, once it is reachable, why re-sending a point could store it twice
(`ReplayChecked`): the spool's replays rely on the store keeping one sample per series and time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from pelihara.core.errors import ExitCode, PeliharaError

FieldValue = float | int | str | bool


@dataclass(frozen=True)
class Point:
    """One sample: measurement, tags (few, bounded values: host, cpu, mount), fields, time.

    Unbounded identifying values (serials, MACs, package versions) are fields, never tags:
    every distinct tag value is a new series in the store. The timestamp is explicit, in
    nanoseconds since the epoch (UTC): points of one series without one overwrite each other.
    """

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ns: int

    def series_key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Measurement and sorted tags: what, with the timestamp, makes a point unique."""
        return self.measurement, tuple(sorted(self.tags.items()))


@dataclass(frozen=True)
class Query:
    """Points of MEASUREMENT whose tags include TAGS, from START (inclusive) to END (exclusive)."""

    measurement: str
    start: datetime
    end: datetime
    tags: Mapping[str, str] = field(default_factory=dict)


class StoreError(PeliharaError):
    """The store could not take or give points."""


class StoreUnavailable(StoreError):
    """Try again later: refused, timed out, 429 or 5xx."""

    exit_code = ExitCode.UNREACHABLE


class StoreAuthError(StoreError):
    """The store refused our credentials (401/403): nothing will work until they are fixed."""


@dataclass(frozen=True)
class Rejected:
    """A point the store refused, and its reason (the store's own message)."""

    point: Point
    reason: str


class BadPointsError(StoreError):
    """The store refused these points as malformed; `rejected` says which and why.

    Raised as such (not as `RefusedRequest`), the other points of the call were written.
    """

    def __init__(self, rejected: Sequence[Rejected]) -> None:
        self.rejected = list(rejected)
        super().__init__(f"{len(self.rejected)} point(s) refused by the store")


class RefusedRequest(BadPointsError):
    """The store refused a whole request with REASON (e.g. "HTTP 400: ..."): nothing written.

    Whether some of its points are malformed or the request itself is refused (a wrong
    tenant, an auth proxy, a body limit) is unknown; `rejected` names every point of it.
    """

    def __init__(self, points: Sequence[Point], reason: str) -> None:
        self.reason = reason
        super().__init__([Rejected(point, reason) for point in points])
        self.args = (f"{len(self.rejected)} point(s) refused by the store: {reason}",)


class EveryRequestRefused(StoreError):
    """The store refused every request for a batch: the requests, not the points (a wrong
    tenant or path, an auth proxy, a body limit). Nothing was set aside; fix the configuration.
    """

    def __init__(self, url: str, reason: str, points: int, requests: int) -> None:
        self.reason = reason
        super().__init__(
            f"{url}: the store refused all {requests} request(s) for a batch of {points} "
            "point(s), so it refuses the requests, not the points (a wrong tenant or URL path, "
            "a proxy in between, a body limit?); nothing was set aside. "
            f"The store said: {reason}"
        )


class Store(Protocol):
    """A time-series store: write points, read them back."""

    url: str  # for messages: never contains a token or password

    def write(self, points: Sequence[Point]) -> None:
        """Write all POINTS, or raise one of the errors above (none is written twice)."""
        ...

    def query(self, query: Query) -> list[Point]:
        """The points matching QUERY, by time."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ReplayChecked(Protocol):
    """A store that can tell whether a point written twice is kept once (VictoriaMetrics)."""

    def replay_problem(self) -> str | None:
        """Why a re-sent point would be stored twice here, or None; raises StoreUnavailable
        when the store cannot be asked now."""
        ...
