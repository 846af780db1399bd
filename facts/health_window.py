"""Health around a maintenance: each host's series before the `pre` snapshot and after the
`post` one, summarised (mean, p95) and compared against thresholds that are data.

The metrics are the ones the agent and `pelihara collect` write: CPU busy percent, load over
one minute, memory used percent, and each mount's used percent. A side with no sample of a
metric is "no data" (None), never zero: a series that stopped after the work is a finding,
not a quiet machine.

>>> cpu = Metric("cpu")
>>> found = compare_metric(cpu, {cpu: {"agent": [10.0, 12.0, 14.0]}},
...                        {cpu: {"agent": [40.0, 45.0, 50.0]}}, DEFAULT_THRESHOLDS)
>>> found.change, [(flag.rule, flag.threshold) for flag in found.flags]
(33.0, [('rise', 20.0)])

Pure: no I/O and no clock; `collector.health_window` reads the store and calls this.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pelihara.core.canonical import utc_text

CPU, LOAD1, MEMORY, MOUNT = "cpu", "load1", "memory", "mount"
KINDS = (CPU, LOAD1, MEMORY, MOUNT)  # the order a person reads them in
PERCENT, LOAD = "percent", "load"
UNITS = {CPU: PERCENT, LOAD1: LOAD, MEMORY: PERCENT, MOUNT: PERCENT}
# Where one host has several sources of one metric, the one compared: the agent reads the
# machine itself; SNMP's memory counts buffers and cache as used, so it comes last.
SOURCES = ("agent", "ssh", "snmp")
RULES = ("rise", "ratio", "ceiling")
P95 = 0.95

Thresholds = Mapping[str, Mapping[str, float]]

# The after side's mean is flagged when it moved beyond these (strictly):
#   rise     after - before > rise (points of a percent, or load)
#   ratio    after > before * ratio (with rise: both must hold)
#   ceiling  after > ceiling, and before was not (or had no data)
DEFAULT_THRESHOLDS: Thresholds = MappingProxyType({
    CPU: MappingProxyType({"rise": 20.0}),
    LOAD1: MappingProxyType({"rise": 1.0, "ratio": 1.5}),
    MEMORY: MappingProxyType({"rise": 10.0}),
    MOUNT: MappingProxyType({"rise": 5.0, "ceiling": 90.0}),
})  # fmt: skip


class HealthThresholdsError(ValueError):
    """Thresholds that are not a mapping of known metrics to known rules with numbers."""


@dataclass(frozen=True)
class Metric:
    """What is compared: a KIND of `KINDS`; MOUNT names the mount point of a `mount`."""

    kind: str
    mount: str | None = None

    def sort_key(self) -> tuple[int, str]:
        return KINDS.index(self.kind), self.mount or ""


# A side's samples: metric -> source ("agent", "ssh", "snmp") -> values in the window.
Samples = Mapping[Metric, Mapping[str, Sequence[float]]]


@dataclass(frozen=True)
class Window:
    """A side's span of time, both ends included (UTC)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Side:
    """One side of a metric: the source read, the number of samples, their mean and p95."""

    source: str
    samples: int
    mean: float
    p95: float


@dataclass(frozen=True)
class Flag:
    """A threshold RULE crossed: VALUE (the rise, the ratio, or the mean) beyond THRESHOLD;
    a ratio from a mean of zero has no value (None)."""

    rule: str
    threshold: float
    value: float | None


@dataclass(frozen=True)
class MetricComparison:
    """A metric's two sides (None: no data on that side) and the flags the after side raised."""

    metric: Metric
    before: Side | None
    after: Side | None
    flags: tuple[Flag, ...] = ()

    @property
    def change(self) -> float | None:
        """After's mean minus before's; None unless both sides have data."""
        if self.before is None or self.after is None:
            return None
        return self.after.mean - self.before.mean


@dataclass(frozen=True)
class HostHealthComparison:
    """A host's health before and after, metric by metric, and the thresholds applied."""

    host: str
    before: Window
    after: Window
    metrics: tuple[MetricComparison, ...]
    thresholds: Thresholds

    @property
    def has_series(self) -> bool:
        """False when neither window holds a single sample of any metric of this host."""
        return any(m.before is not None or m.after is not None for m in self.metrics)

    @property
    def flagged(self) -> tuple[MetricComparison, ...]:
        return tuple(m for m in self.metrics if m.flags)


def thresholds_from_dict(overrides: Any, base: Thresholds = DEFAULT_THRESHOLDS) -> Thresholds:
    """BASE with the rules of OVERRIDES (same shape, e.g. `{"mount": {"ceiling": 95}}`) put over
    it; a rule set to None is removed. Unknown metrics or rules, or non-numbers, are refused."""
    if not isinstance(overrides, Mapping):
        raise HealthThresholdsError("health thresholds must be a mapping of metric to rules")
    merged = {kind: dict(rules) for kind, rules in base.items()}
    for kind, rules in overrides.items():
        if kind not in KINDS:
            raise HealthThresholdsError(f"unknown metric {kind!r} (known: {', '.join(KINDS)})")
        if not isinstance(rules, Mapping):
            raise HealthThresholdsError(f"{kind}: rules must be a mapping, e.g. rise: 20")
        for rule, value in rules.items():
            merged.setdefault(kind, {}).update({rule: _threshold(kind, rule, value)})
    return MappingProxyType({
        kind: MappingProxyType({r: v for r, v in rules.items() if v is not None})
        for kind, rules in merged.items()
    })  # fmt: skip


def _threshold(kind: str, rule: object, value: object) -> float | None:
    if rule not in RULES:
        raise HealthThresholdsError(f"{kind}: unknown rule {rule!r} (known: {', '.join(RULES)})")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise HealthThresholdsError(f"{kind}.{rule}: {value!r} is not a number")
    return float(value)


def p95(values: Sequence[float]) -> float:
    """The 95th percentile by nearest rank: a value that was sampled, never interpolated.

    >>> p95([float(n) for n in range(1, 21)])
    19.0
    """
    ordered = sorted(values)
    return ordered[max(0, math.ceil(P95 * len(ordered)) - 1)]


def summarised(source: str, values: Iterable[float]) -> Side | None:
    """SOURCE's finite VALUES as a side; None when there is none (no data, never zero)."""
    kept = [float(v) for v in values if math.isfinite(v)]
    if not kept:
        return None
    return Side(source, len(kept), math.fsum(kept) / len(kept), p95(kept))


def _ranked(sources: Iterable[str]) -> list[str]:
    return sorted(sources, key=lambda s: (SOURCES.index(s) if s in SOURCES else len(SOURCES), s))


def _present(found: Mapping[str, Sequence[float]]) -> list[str]:
    return _ranked(s for s, values in found.items() if any(math.isfinite(v) for v in values))


def chosen_sources(
    before: Mapping[str, Sequence[float]], after: Mapping[str, Sequence[float]]
) -> tuple[str | None, str | None]:
    """The source compared on each side: the first of `SOURCES` with data on both sides, else
    each side's first with data (None: no data on that side)."""
    first, second = _present(before), _present(after)
    both = [source for source in first if source in second]
    if both:
        return both[0], both[0]
    return (first[0] if first else None), (second[0] if second else None)


def _side(source: str | None, found: Mapping[str, Sequence[float]]) -> Side | None:
    return None if source is None else summarised(source, found[source])


def flags_of(
    before: Side | None, after: Side | None, rules: Mapping[str, float]
) -> tuple[Flag, ...]:
    """The flags AFTER raises against BEFORE under RULES (see `DEFAULT_THRESHOLDS`)."""
    if after is None:
        return ()
    found = list(_moved(before.mean, after.mean, rules)) if before is not None else []
    ceiling = rules.get("ceiling")
    was_over = before is not None and ceiling is not None and before.mean > ceiling
    if ceiling is not None and after.mean > ceiling and not was_over:
        found.append(Flag("ceiling", ceiling, after.mean))
    return tuple(found)


def _moved(before: float, after: float, rules: Mapping[str, float]) -> list[Flag]:
    """The rise and ratio flags, when every one of the two that RULES holds is crossed (load:
    +1 alone is noise on a busy machine, x1.5 alone is noise on an idle one)."""
    rise, ratio = rules.get("rise"), rules.get("ratio")
    crossed = [
        rise is None or after - before > rise,
        ratio is None or after > before * ratio,
    ]
    if (rise is None and ratio is None) or not all(crossed):
        return []
    found = [] if rise is None else [Flag("rise", rise, after - before)]
    if ratio is not None:
        found.append(Flag("ratio", ratio, after / before if before > 0 else None))
    return found


BASE_METRICS = (Metric(CPU), Metric(LOAD1), Metric(MEMORY))


def compare_metric(
    metric: Metric, before: Samples, after: Samples, thresholds: Thresholds
) -> MetricComparison:
    """METRIC's sides (the sources chosen by `chosen_sources`) and the flags they raise."""
    first, second = before.get(metric, {}), after.get(metric, {})
    source_before, source_after = chosen_sources(first, second)
    side_before, side_after = _side(source_before, first), _side(source_after, second)
    flags = flags_of(side_before, side_after, thresholds.get(metric.kind, {}))
    return MetricComparison(metric, side_before, side_after, flags)


def compare_health(
    host: str,
    windows: tuple[Window, Window],
    before: Samples,
    after: Samples,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> HostHealthComparison:
    """HOST's health in WINDOWS (before, after): CPU, load and memory always (no data shown as
    such), and every mount seen on either side, in a stable order."""
    mounts = {m for m in (*before, *after) if m.kind == MOUNT and m.mount is not None}
    metrics = sorted({*BASE_METRICS, *mounts}, key=Metric.sort_key)
    compared = tuple(compare_metric(m, before, after, thresholds) for m in metrics)
    return HostHealthComparison(host, windows[0], windows[1], compared, thresholds)


CPU_IDLE_STATES = ("idle_seconds", "iowait_seconds")  # psutil counts neither as busy


def cpu_busy_percents(times: Sequence[tuple[int, Mapping[str, float]]]) -> list[float]:
    """Busy percents between consecutive cumulative CPU times (`cpu_time` points: time in ns,
    seconds per state), as psutil computes them: everything but idle and iowait. A pair whose
    counters went back (a reboot between them) or did not move is skipped.

    >>> cpu_busy_percents([(0, {"user_seconds": 10, "idle_seconds": 90}),
    ...                    (1, {"user_seconds": 40, "idle_seconds": 160})])
    [30.0]
    """
    return [busy for _, busy in cpu_busy_series(times)]


def cpu_busy_series(times: Sequence[tuple[int, Mapping[str, float]]]) -> list[tuple[int, float]]:
    """`cpu_busy_percents` with each percent's time: the later sample's of its pair (a chart
    draws them over time).

    >>> cpu_busy_series([(0, {"user_seconds": 10, "idle_seconds": 90}),
    ...                  (5, {"user_seconds": 40, "idle_seconds": 160})])
    [(5, 30.0)]
    """
    ordered = sorted(times, key=lambda pair: pair[0])
    return [
        (at, busy)
        for (_, first), (at, second) in itertools.pairwise(ordered)
        if (busy := _busy_between(first, second)) is not None
    ]


def _busy_between(first: Mapping[str, float], second: Mapping[str, float]) -> float | None:
    deltas = {state: second[state] - first[state] for state in second if state in first}
    total = math.fsum(deltas.values())
    if total <= 0 or any(delta < 0 for delta in deltas.values()):
        return None
    idle = math.fsum(deltas.get(state, 0.0) for state in CPU_IDLE_STATES)
    return 100.0 * (total - idle) / total


def _number(value: float) -> float:
    """A value as the JSON form keeps it: two decimals (samples are not more precise)."""
    return round(value, 2)


def _side_dict(side: Side | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {"source": side.source, "samples": side.samples, "mean": _number(side.mean),
            "p95": _number(side.p95)}  # fmt: skip


def _flag_dict(flag: Flag) -> dict[str, Any]:
    value = None if flag.value is None else _number(flag.value)
    return {"rule": flag.rule, "threshold": flag.threshold, "value": value}


def metric_dict(compared: MetricComparison) -> dict[str, Any]:
    change = compared.change
    return {
        "metric": compared.metric.kind,
        "mount": compared.metric.mount,
        "unit": UNITS[compared.metric.kind],
        "before": _side_dict(compared.before),
        "after": _side_dict(compared.after),
        "change": None if change is None else _number(change),
        "flags": [_flag_dict(flag) for flag in compared.flags],
    }


def _window_dict(window: Window) -> dict[str, str]:
    return {"start": utc_text(window.start), "end": utc_text(window.end)}


def health_comparison_dict(compared: HostHealthComparison) -> dict[str, Any]:
    """The comparison as plain JSON-ready data, for `pelihara.core.canonical` (stable: sorted
    keys there, metrics in `KINDS` order then by mount here)."""
    return {
        "host": compared.host,
        "status": "compared" if compared.has_series else "no series",
        "before": _window_dict(compared.before),
        "after": _window_dict(compared.after),
        "flagged": len(compared.flagged),
        "metrics": [metric_dict(m) for m in compared.metrics],
        "thresholds": {kind: dict(rules) for kind, rules in compared.thresholds.items()},
    }


def not_compared_dict(host: str | None, reason: str) -> dict[str, Any]:
    """The JSON form where health could not be read at all (the store down, refusing): says so
    with the reason, and is never mistaken for "no change"."""
    return {"host": host, "status": "not compared", "reason": reason}
