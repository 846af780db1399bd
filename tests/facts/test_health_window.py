"""The pure health comparison: means, p95, thresholds, sides without data, hosts without
series, the sources chosen, and its JSON, Markdown and HTML forms.

hypothesis is not in the test extras: the order-independence checks run seeded shuffles.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pelihara.core.canonical import canonical_json
from pelihara.facts.health_text import (
    COLUMNS,
    health_html,
    health_markdown,
    health_rows,
    html_not_compared,
    markdown_not_compared,
    summary_text,
)
from pelihara.facts.health_window import (
    CPU,
    DEFAULT_THRESHOLDS,
    LOAD1,
    MEMORY,
    MOUNT,
    HealthThresholdsError,
    HostHealthComparison,
    Metric,
    Samples,
    Window,
    compare_health,
    cpu_busy_percents,
    health_comparison_dict,
    not_compared_dict,
    p95,
    thresholds_from_dict,
)

PRE = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
POST = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOWS = (Window(PRE - HOUR, PRE), Window(POST, POST + HOUR))
cpu, load1, memory = Metric(CPU), Metric(LOAD1), Metric(MEMORY)


def _mount(path: str) -> Metric:
    return Metric(MOUNT, path)


def _compare(before: Samples, after: Samples, **kwargs: object) -> HostHealthComparison:
    return compare_health("web01", WINDOWS, before, after, **kwargs)  # type: ignore[arg-type]


def _one(before: list[float], after: list[float], metric: Metric = cpu, **kw: object) -> dict:
    found = _compare({metric: {"agent": before}}, {metric: {"agent": after}}, **kw)
    (item,) = [m for m in health_comparison_dict(found)["metrics"] if m["metric"] == metric.kind
               and m["mount"] == metric.mount]  # fmt: skip
    return item


def _rules(item: dict) -> list[str]:
    return [flag["rule"] for flag in item["flags"]]


# -- statistics ------------------------------------------------------------------------------


def test_mean_and_p95_by_nearest_rank() -> None:
    assert p95([float(n) for n in range(1, 21)]) == 19.0
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([3.0, 1.0, 2.0]) == 3.0  # ceil(0.95 * 3) = 3rd smallest
    assert p95([7.5]) == 7.5
    item = _one([10.0, 20.0, 30.0, 40.0], [50.0] * 19 + [100.0])
    assert item["before"] == {"source": "agent", "samples": 4, "mean": 25.0, "p95": 40.0}
    assert item["after"] == {"source": "agent", "samples": 20, "mean": 52.5, "p95": 50.0}
    assert item["change"] == 27.5


def test_values_that_are_not_finite_are_left_out_and_none_left_is_no_data() -> None:
    item = _one([10.0, float("nan"), 20.0, float("inf")], [float("nan")])
    assert item["before"]["samples"] == 2 and item["before"]["mean"] == 15.0
    assert item["after"] is None and item["change"] is None


# -- thresholds ------------------------------------------------------------------------------


def test_cpu_is_flagged_strictly_beyond_its_rise() -> None:
    assert _rules(_one([10.0], [30.0])) == []  # +20 exactly: not beyond
    flagged = _one([10.0], [30.5])
    assert flagged["flags"] == [{"rule": "rise", "threshold": 20.0, "value": 20.5}]
    assert _rules(_one([80.0], [10.0])) == []  # a fall is not flagged


def test_load_needs_both_its_rise_and_its_ratio() -> None:
    assert _rules(_one([0.5], [1.6], load1)) == ["rise", "ratio"]
    assert _one([0.5], [1.6], load1)["flags"][1]["value"] == 3.2
    assert _rules(_one([4.0], [5.5], load1)) == []  # +1.5 but only x1.375
    assert _rules(_one([0.2], [0.4], load1)) == []  # x2 but only +0.2


def test_a_ratio_from_zero_has_no_value() -> None:
    item = _one([0.0, 0.0], [1.5], load1)
    assert item["flags"][1] == {"rule": "ratio", "threshold": 1.5, "value": None}
    found = _compare({load1: {"agent": [0.0]}}, {load1: {"agent": [1.5]}})
    assert "ratio from 0 > x1.5" in health_markdown(found)


def test_memory_rise() -> None:
    assert _rules(_one([40.0], [50.0], memory)) == []
    assert _rules(_one([40.0], [50.5], memory)) == ["rise"]


def test_a_mount_is_flagged_by_its_rise_or_by_crossing_the_ceiling() -> None:
    root = _mount("/")
    assert _rules(_one([50.0], [55.5], root)) == ["rise"]
    assert _rules(_one([85.0], [91.0], root)) == ["rise", "ceiling"]
    assert _rules(_one([88.0], [91.0], root)) == ["ceiling"]
    assert _one([88.0], [91.0], root)["flags"][0] == {"rule": "ceiling", "threshold": 90.0,
                                                      "value": 91.0}  # fmt: skip
    assert _rules(_one([95.0], [95.5], root)) == []  # already over before, and it did not move
    assert _rules(_one([95.0], [100.5], root)) == ["rise"]


def test_a_mount_new_after_the_work_is_flagged_when_over_the_ceiling() -> None:
    found = _compare({}, {_mount("/data"): {"agent": [97.0]}})
    item = health_comparison_dict(found)["metrics"][-1]
    assert item["before"] is None and _rules(item) == ["ceiling"]


def test_thresholds_are_data_that_can_be_overridden() -> None:
    quiet = thresholds_from_dict({"cpu": {"rise": 50}})
    assert _rules(_one([10.0], [40.0], thresholds=quiet)) == []
    assert quiet["mount"] == DEFAULT_THRESHOLDS["mount"]  # the others kept
    no_ceiling = thresholds_from_dict({"mount": {"ceiling": None}})
    assert _rules(_one([88.0], [91.0], _mount("/"), thresholds=no_ceiling)) == []
    memory_ceiling = thresholds_from_dict({"memory": {"ceiling": 95}})
    assert _rules(_one([94.0], [96.0], memory, thresholds=memory_ceiling)) == ["ceiling"]
    found = _compare({}, {}, thresholds=memory_ceiling)
    assert health_comparison_dict(found)["thresholds"]["memory"] == {"rise": 10.0, "ceiling": 95.0}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"disk": {"rise": 1}}, "unknown metric 'disk' (known: cpu, load1, memory, mount)"),
        ({"cpu": {"rise_pt": 1}}, "cpu: unknown rule 'rise_pt' (known: rise, ratio, ceiling)"),
        ({"cpu": {"rise": "20"}}, "cpu.rise: '20' is not a number"),
        ({"cpu": {"rise": True}}, "cpu.rise: True is not a number"),
        ({"cpu": {"rise": float("nan")}}, "cpu.rise: nan is not a number"),
        ({"cpu": 20}, "cpu: rules must be a mapping, e.g. rise: 20"),
        ([1, 2], "health thresholds must be a mapping of metric to rules"),
    ],
)  # fmt: skip
def test_thresholds_of_the_wrong_shape_are_refused_by_name(overrides: object, message: str) -> None:
    with pytest.raises(HealthThresholdsError) as caught:
        thresholds_from_dict(overrides)
    assert str(caught.value) == message


# -- no data ---------------------------------------------------------------------------------


def test_a_side_without_samples_is_no_data_never_zero() -> None:
    found = _compare({cpu: {"agent": [12.0]}}, {})
    item = health_comparison_dict(found)["metrics"][0]
    assert item["metric"] == "cpu" and item["after"] is None and item["change"] is None
    assert item["flags"] == []
    row = health_rows(found)[0]
    assert row[COLUMNS.index("after mean")] == "no data"
    assert row[COLUMNS.index("after p95")] == "no data"
    assert row[COLUMNS.index("before mean")] == "12.0"
    assert "| CPU busy (%) | agent | 12.0 | 12.0 | no data | no data |  |  |" in health_markdown(
        found
    )
    assert "0.0" not in health_markdown(found)


def test_a_host_with_no_series_says_so() -> None:
    found = _compare({}, {cpu: {"agent": []}})
    assert not found.has_series
    document = health_comparison_dict(found)
    assert document["status"] == "no series" and document["flagged"] == 0
    assert [(m["metric"], m["before"], m["after"]) for m in document["metrics"]] == [
        ("cpu", None, None), ("load1", None, None), ("memory", None, None)]  # fmt: skip
    assert summary_text(found) == "no health series for web01 in either window"
    markdown = health_markdown(found)
    assert "no health series for web01 in either window." in markdown and "|" not in markdown
    assert "<table>" not in health_html(found) and "no health series for web01" in health_html(
        found
    )


def test_health_not_compared_is_its_own_status_and_text() -> None:
    reason = "the store at victoriametrics://127.0.0.1:1 is unreachable: refused"
    assert not_compared_dict("web01", reason) == {"host": "web01", "status": "not compared",
                                                  "reason": reason}  # fmt: skip
    assert markdown_not_compared(reason) == f"**Health not compared:** {reason}"
    assert "Health not compared:</strong> the store at victoriametrics://" in html_not_compared(
        reason
    )


# -- sources ---------------------------------------------------------------------------------


def test_the_source_with_data_on_both_sides_is_compared_agent_first() -> None:
    both = _compare({memory: {"agent": [40.0], "snmp": [90.0], "ssh": [41.0]}},
                    {memory: {"snmp": [91.0], "ssh": [60.0]}})  # fmt: skip
    item = health_comparison_dict(both)["metrics"][2]
    assert (item["before"]["source"], item["after"]["source"]) == ("ssh", "ssh")
    assert _rules(item) == ["rise"]  # ssh 41 -> 60, never agent 40 against snmp 91


def test_without_a_common_source_each_side_shows_its_own() -> None:
    found = _compare({cpu: {"snmp": [10.0], "collectd": [5.0]}},
                     {cpu: {"agent": [50.0], "collectd": []}})  # fmt: skip
    item = health_comparison_dict(found)["metrics"][0]
    assert (item["before"]["source"], item["after"]["source"]) == ("snmp", "agent")
    assert health_rows(found)[0][COLUMNS.index("source")] == "snmp -> agent"
    unknown_only = _compare({cpu: {"collectd": [5.0]}}, {})
    assert health_comparison_dict(unknown_only)["metrics"][0]["before"]["source"] == "collectd"


# -- CPU from cumulative times ---------------------------------------------------------------


def test_cpu_busy_percent_from_cumulative_times_as_psutil_counts_it() -> None:
    def times(user: float, idle: float, iowait: float = 0.0, steal: float = 0.0) -> dict:
        return {"user_seconds": user, "idle_seconds": idle, "iowait_seconds": iowait,
                "steal_seconds": steal}  # fmt: skip

    samples = [
        (30, times(80, 190, 10, 20)),  # +40 user, +40 idle, +20 steal (busy): 60 %
        (10, times(10, 90)),
        (20, times(40, 150, 10)),  # +30 user, +60 idle, +10 iowait (not busy): 30 %
        (40, times(5, 10)),  # a reboot between: the counters went back, skipped
        (50, times(5, 10)),  # nothing moved: skipped
        (60, times(15, 20)),  # +10 user, +10 idle: 50 %
    ]
    assert cpu_busy_percents(samples) == [30.0, 60.0, 50.0]
    assert cpu_busy_percents(samples[:1]) == []


# -- forms -----------------------------------------------------------------------------------


def _rich_samples() -> tuple[Samples, Samples]:
    before: Samples = {
        cpu: {"agent": [10.0, 12.5, 14.0]}, load1: {"agent": [0.5, 0.7]},
        memory: {"agent": [40.0, 42.0]}, _mount("/var"): {"agent": [50.0, 51.0]},
        _mount("/"): {"agent": [88.0]}, _mount("/boot"): {"agent": [30.0]},
    }  # fmt: skip
    after: Samples = {
        cpu: {"agent": [40.0, 45.0, 52.0]}, load1: {"agent": [2.0, 2.5]},
        memory: {"agent": [43.0]}, _mount("/var"): {"agent": [58.0]},
        _mount("/"): {"agent": [92.0, 91.0]}, _mount("/new|odd<b>"): {"agent": [10.0]},
    }  # fmt: skip
    return before, after


def _shuffled(samples: Samples, rng: random.Random) -> Samples:
    items = list(samples.items())
    rng.shuffle(items)
    return {m: {s: rng.sample(list(v), len(v)) for s, v in reversed(list(by.items()))}
            for m, by in items}  # fmt: skip


def test_the_json_form_is_canonical_stable_and_independent_of_input_order() -> None:
    before, after = _rich_samples()
    reference = canonical_json(health_comparison_dict(_compare(before, after)))
    rng = random.Random(12)
    for _ in range(50):
        again = _compare(_shuffled(before, rng), _shuffled(after, rng))
        assert canonical_json(health_comparison_dict(again)) == reference
    document = json.loads(reference)
    assert [(m["metric"], m["mount"]) for m in document["metrics"]] == [
        ("cpu", None), ("load1", None), ("memory", None), ("mount", "/"), ("mount", "/boot"),
        ("mount", "/new|odd<b>"), ("mount", "/var")]  # fmt: skip
    assert document["before"] == {"start": "2026-12-04T00:00:00Z", "end": "2026-12-04T01:00:00Z"}
    assert document["after"] == {"start": "2026-12-04T05:00:00Z", "end": "2026-12-04T06:00:00Z"}
    assert (document["status"], document["flagged"]) == ("compared", 4)
    assert [m["metric"] for m in document["metrics"] if m["flags"]] == ["cpu", "load1", "mount",
                                                                        "mount"]  # fmt: skip
    assert document["metrics"][0]["before"] == {"source": "agent", "samples": 3, "mean": 12.17,
                                                "p95": 14.0}  # fmt: skip


def test_markdown_and_html_fragments() -> None:
    found = _compare(*_rich_samples())
    markdown = health_markdown(found, ZoneInfo("Asia/Jakarta"))
    assert markdown.startswith("#### Health of web01 around the maintenance\n")
    assert ("before 2026-12-04 07:00:00 WIB to 2026-12-04 08:00:00 WIB; after 2026-12-04 "
            "12:00:00 WIB to 2026-12-04 13:00:00 WIB.") in markdown  # fmt: skip
    assert (
        "web01: 4 metric(s) beyond the thresholds: CPU busy (%), load (1 min), mount / used"
        in markdown
    )
    assert ("| CPU busy (%) | agent | 12.2 | 14.0 | 45.7 | 52.0 | +33.5 | "
            "rise +33.5 points > +20 |") in markdown  # fmt: skip
    assert (
        "| mount / used (%) | agent | 88.0 | 88.0 | 91.5 | 92.0 | +3.5 | over 90: 91.5 |"
        in markdown
    )
    assert (
        "| mount /new\\|odd<b> used (%) | agent | no data | no data | 10.0 | 10.0 |  |  |"
        in markdown
    )
    html = health_html(found)
    assert html.count('<tr class="flagged">') == 4
    assert "mount /new|odd&lt;b&gt; used (%)" in html and "<b>" not in html
    assert "2026-12-04 00:00:00 UTC" in html


def test_a_change_that_rounds_to_nothing_is_shown_without_a_sign() -> None:
    found = _compare({load1: {"agent": [0.62]}}, {load1: {"agent": [0.6]}})
    (row,) = [row for row in health_rows(found) if row[0].startswith("load")]
    assert "-0.0" not in row and "+0.0" not in row
    assert row[COLUMNS.index("change")] == "0.0"
