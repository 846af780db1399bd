"""The Berita Acara's health charts: samples written to the REAL stores (the embedded SQLite
store and the session's VictoriaMetrics) around a maintenance window, read back as the report
reads them, drawn as SVG. The SVG is parsed, never compared with a picture: each line and each
shaded window has an id (`series-KIND-N`, `window-KIND`), the text stays text."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pelihara.collector.health_series import Series
from pelihara.facts.health_window import Metric
from pelihara.maintenance.charts import (
    day_text,
    health_charts,
    no_series_text,
    server_health_chart,
    svg_data_uri,
    time_axis_label,
)
from pelihara.timeseries.base import Point
from pelihara.timeseries.selection import datetime_ns
from tests.timeseries import unique
from tests.timeseries.written import Written, written

__all__ = ["written"]  # a fixture: the real store under test

SVG = "{http://www.w3.org/2000/svg}"
WIB = ZoneInfo("Asia/Jakarta")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# A fixed window for the pure tests: 10:00-12:00 WIB on 3 December 2026.
START = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
END = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)


def _series(metric: Metric, values: Sequence[float], every: timedelta = 10 * MINUTE,
            first: datetime = START - HOUR, source: str = "agent") -> Series:  # fmt: skip
    times = tuple(datetime_ns(first + n * every) for n in range(len(values)))
    return Series(metric, source, times, tuple(values))


def _sample() -> dict[Metric, Series]:
    cpu, memory, root = Metric("cpu"), Metric("memory"), Metric("mount", "/")
    return {
        cpu: _series(cpu, [10, 12, 11, 60, 70, 65, 20, 22, 21, 19, 18, 20, 21, 23, 22, 20, 19, 20]),
        memory: _series(memory, [40.0] * 18),
        root: _series(root, [50.0] * 9 + [55.0] * 9),
    }


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def _by_id(root: ET.Element) -> dict[str, ET.Element]:
    return {element.get("id", ""): element for element in root.iter() if element.get("id")}


def _texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def _vertices(group: ET.Element) -> int:
    """The number of points of a line's path (`M x y L x y ...`; its markers are apart)."""
    path = group.find(f"{SVG}path")
    assert path is not None
    return len(re.findall(r"[ML]", path.get("d", "")))


def test_samples_around_a_window_are_drawn_with_the_window_shaded(written: Written) -> None:
    host = unique("pltest-chart")
    now = datetime.fromtimestamp(int(time.time()), UTC)
    start, end = now - 3 * HOUR, now - 90 * MINUTE
    times = [start - HOUR + n * 10 * MINUTE for n in range(16)]  # to end + 1 h
    written.store.write([
        *(Point("cpu", {"host": host, "source": "agent", "cpu": "total"},
                {"usage_percent": 10.0 + n}, datetime_ns(at)) for n, at in enumerate(times)),
        *(Point("filesystem", {"host": host, "source": "agent", "mount": mount},
                {"used_percent": 50.0}, datetime_ns(at))
          for at in times for mount in ("/", "/var")),
    ])  # fmt: skip
    written.flush()
    svg = server_health_chart(written.store, host, start, end, WIB)
    assert svg is not None
    ids = _by_id(_root(svg))
    assert _vertices(ids["series-cpu-0"]) == 16  # every sample, none outside
    assert _vertices(ids["series-mount-0"]) == _vertices(ids["series-mount-1"]) == 16
    assert {"window-cpu", "window-mount"} <= set(ids)
    assert "series-memory-0" not in ids and "window-memory" not in ids  # no panel without data
    texts = _texts(_root(svg))
    assert {"CPU terpakai (%)", "Disk terpakai (%)", "Jendela pemeliharaan"} <= set(texts)
    assert {"/ (agent)", "/var (agent)"} <= set(texts)


def test_the_axes_are_in_indonesian_and_in_the_data_centers_zone() -> None:
    svg = health_charts(_sample(), START, END, WIB)
    assert svg is not None
    texts = _texts(_root(svg))
    assert "Waktu (WIB), 3 Desember 2026" in texts
    assert {"CPU terpakai (%)", "Memori terpakai (%)", "Disk terpakai (%)"} <= set(texts)
    assert {"10:00", "11:00", "12:00"} <= set(texts)  # 03:00-05:00 UTC read in WIB
    assert "sumber: agent" in texts and "Jendela pemeliharaan" in texts


def test_english_and_another_zone_on_request() -> None:
    svg = health_charts(_sample(), START, END, ZoneInfo("Asia/Jayapura"), lang="en")
    assert svg is not None
    texts = _texts(_root(svg))
    assert "Time (WIT), 3 December 2026" in texts
    assert {"CPU busy (%)", "Memory used (%)", "Disk used (%)", "Maintenance window"} <= set(texts)
    assert {"12:00", "13:00", "14:00"} <= set(texts)  # UTC+9


def test_every_panel_is_shaded_and_the_window_is_where_its_times_are() -> None:
    cpu = Metric("cpu")
    # Three samples: before, inside, after; the window's shade lies between the first and last.
    series = {cpu: Series(cpu, "agent", tuple(datetime_ns(t) for t in
                                              (START - HOUR, START + HOUR, END + HOUR)),
                          (10.0, 20.0, 30.0))}  # fmt: skip
    svg = health_charts(series, START, END, WIB)
    assert svg is not None
    ids = _by_id(_root(svg))
    path, shade = ids["series-cpu-0"].find(f"{SVG}path"), ids["window-cpu"].find(f"{SVG}path")
    assert path is not None and shade is not None
    line = [float(x) for x in re.findall(r"[ML] ([\d.]+)", path.get("d", ""))]
    shade_x = [float(x) for x in re.findall(r"[MLz ]([\d.]+) [\d.]+", shade.get("d", ""))]
    assert line[0] < min(shade_x) < line[1] < max(shade_x) < line[2]


def test_the_same_series_give_the_same_bytes_in_another_process() -> None:
    """The report's hash covers the chart: no date, no random id, no hash seed in it."""
    svg = health_charts(_sample(), START, END, WIB)
    assert svg is not None and health_charts(_sample(), START, END, WIB) == svg
    script = (
        "import sys; from tests.maintenance.test_charts import _sample, START, END, WIB;"
        "from pelihara.maintenance.charts import health_charts;"
        "sys.stdout.write(health_charts(_sample(), START, END, WIB))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=True, cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.stdout == svg
    assert "dc:date" not in svg and "Matplotlib v" not in svg


def test_no_state_is_left_in_matplotlib_between_charts() -> None:
    import matplotlib
    from matplotlib import pyplot  # only to see that no figure is left in its registry

    before, figures = dict(matplotlib.rcParams), pyplot.get_fignums()
    health_charts(_sample(), START, END, WIB)
    assert dict(matplotlib.rcParams) == before
    assert pyplot.get_fignums() == figures


def test_a_line_breaks_where_the_samples_stopped() -> None:
    """The agent down during the work: two pieces of line, not one straight across the gap."""
    cpu = Metric("cpu")
    every = [START - HOUR + n * 10 * MINUTE for n in range(7)]
    times = every + [END + n * 10 * MINUTE for n in range(7)]  # nothing from 10:00 to 12:00
    series = Series(cpu, "agent", tuple(datetime_ns(t) for t in times), (20.0,) * 14)
    svg = health_charts({cpu: series}, START, END, WIB)
    assert svg is not None
    path = _by_id(_root(svg))["series-cpu-0"].find(f"{SVG}path")
    assert path is not None
    d = path.get("d", "")
    assert d.count("M") == 2 and len(re.findall(r"[ML]", d)) == 14


def test_a_server_without_series_has_no_chart_and_the_document_says_so() -> None:
    cpu = Metric("cpu")
    assert health_charts({}, START, END, WIB) is None
    assert health_charts({cpu: Series(cpu, "agent", (), ())}, START, END, WIB) is None
    assert no_series_text().startswith("Tidak ada data kesehatan")
    assert no_series_text("en").startswith("The time-series store holds no health data")


def test_odd_mount_names_stay_text_in_valid_xml() -> None:
    odd = Metric("mount", "/mnt/$a & <b> $")
    svg = health_charts({odd: _series(odd, [10.0, 20.0])}, START, END, WIB)
    assert svg is not None
    assert "/mnt/$a & <b> $ (agent)" in _texts(_root(svg))  # no TeX, escaped, parsed back


def test_a_window_over_two_days_names_both() -> None:
    late = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 23:30 WIB
    label = time_axis_label(late, late + HOUR, WIB)
    assert label == "Waktu (WIB), 31 Desember 2026 - 1 Januari 2027"
    assert day_text(late.date(), "en") == "31 December 2026"


def test_the_data_uri_carries_the_svg_whole() -> None:
    import base64

    svg = health_charts(_sample(), START, END, WIB)
    assert svg is not None
    prefix = "data:image/svg+xml;base64,"
    uri = svg_data_uri(svg)
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).decode("utf-8") == svg


def test_importing_the_modules_loads_neither_matplotlib_nor_pillow() -> None:
    """The report's command imports them; a CLI start must not pay for the libraries."""
    script = (
        "import sys; import pelihara.maintenance.charts, pelihara.maintenance.thumbnails;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'PIL'}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"
