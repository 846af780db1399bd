"""Which points of a refused request does the store refuse? Bisection, within a budget.

A store that answers HTTP 400 (or 422) to a request says nothing about which of its points it
minds: a line too long, or none at all -- a wrong tenant, an auth proxy, a body limit refuse
the request itself. `split` sends halves of the batch, left half first, down to single points,
and tells the two apart by what the store did:

- some request of the batch was accepted: the store takes points, so the single points it
  refused are malformed (`Split.refused`, each with the store's reason);
- no request of the batch was accepted: it is the request, not the points
  (`Split.accepted` is False) and the caller keeps every point -- even when every single
  point was tried, each refused for the same reason.

Every request costs: `budget` caps them. Left first, the points settled always form a prefix
of the batch (`Split.settled`), so a caller that ran out keeps the rest, in order, for later.

>>> split(points, store.write, budget=64)                            # doctest: +SKIP
Split(settled=5000, refused=[(17, 'HTTP 400: too long line')], accepted=True, requests=27)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pelihara.core.canonical import canonical_json
from pelihara.timeseries.base import BadPointsError, Point, RefusedRequest

Write = Callable[[Sequence[Point]], None]


@dataclass
class Split:
    """What bisecting a refused batch found out."""

    settled: int = 0  # points [0, settled) are written or refused; the rest was not tried
    refused: list[tuple[int, str]] = field(default_factory=list)  # (index, the store's reason)
    accepted: bool = False  # the store accepted at least one request of the batch
    requests: int = 0  # requests made (the batch's first, refused one not counted)


def _key(point: Point) -> str:
    return canonical_json([point.measurement, dict(point.tags), dict(point.fields), point.time_ns])


def refused_indexes(points: Sequence[Point], error: BadPointsError) -> list[tuple[int, str]]:
    """The indexes in POINTS of the points ERROR names (the same point twice: both), reasons."""
    reasons: dict[str, str] = {_key(item.point): item.reason for item in error.rejected}
    found = ((index, reasons.get(_key(point))) for index, point in enumerate(points))
    return [(index, reason) for index, reason in found if reason is not None]


def takes_the_tail(points: Sequence[Point], write: Write) -> bool:
    """Whether WRITE accepts the second half of POINTS (one request; False for one point).

    A cheap test for a store known to have refused every request: a batch whose head holds
    a malformed point shows, by this, that it takes points again.
    """
    if len(points) < 2:
        return False
    tail = points[len(points) // 2 :]
    try:
        write(tail)
    except RefusedRequest:
        return False
    except BadPointsError as error:  # exactly these refused, the others written
        return len(error.rejected) < len(tail)
    return True


def _halves(low: int, high: int) -> list[tuple[int, int]]:
    """[low, high) in two, the left one last: it is popped, so tried, first."""
    middle = (low + high) // 2
    return [(middle, high), (low, middle)]


def split(points: Sequence[Point], write: Write, budget: int) -> Split:
    """Find the points of POINTS (refused as one request) that WRITE refuses, in BUDGET requests.

    Errors other than a refusal (unavailable, auth) propagate: nothing is settled then.
    """
    result = Split()
    if len(points) < 2:  # the batch was that point: refused, and nothing accepted
        result.settled = len(points)
        return result
    pending = _halves(0, len(points))
    while pending:
        low, high = pending.pop()
        if result.requests >= budget:
            result.settled = low
            return result
        result.requests += 1
        _try(points, low, high, write, result, pending)
    result.settled = len(points)
    return result


def _try(
    points: Sequence[Point],
    low: int,
    high: int,
    write: Write,
    result: Split,
    pending: list[tuple[int, int]],
) -> None:
    """Write points [low, high); note what was accepted and refused, or queue the halves."""
    part = points[low:high]
    try:
        write(part)
    except RefusedRequest as error:
        if high - low > 1:
            pending += _halves(low, high)
        else:
            result.refused.append((low, error.reason))
    except BadPointsError as error:  # exactly these refused, the others of PART written
        refused = [(low + index, reason) for index, reason in refused_indexes(part, error)]
        result.refused += refused
        result.accepted = result.accepted or len(refused) < len(part)
    else:
        result.accepted = True
