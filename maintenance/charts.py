"""A server's health before, during and after its maintenance window, drawn for the Berita Acara:
one SVG document (text) with a panel per kind of metric, stacked on one time axis.

    CPU terpakai (%)      the busy percent                        0-100
    Memori terpakai (%)   memory used                             0-100
    Disk terpakai (%)     one line per mount point, named         0-100
    Beban (1 menit)       load over one minute                    from 0

Only the panels with samples are drawn; with none at all there is no chart (None) and the
document says so (`no_series_text`). The maintenance window (the pre snapshot to the post one)
is shaded in every panel. Times are read in the data center's zone, named on the axis (`Waktu
(WIB), 3 Desember 2026`); labels are Indonesian, or English with `lang="en"`.

The same series give the same bytes, so the report's hash is stable on one installation: the
SVG's ids come from a fixed salt, it holds no date and no matplotlib version, text stays text
(`svg.fonttype: none`, which also keeps it small and searchable in the PDF). A newer
matplotlib may draw other bytes. Every element a reader looks for has an id: `series-<kind>-<n>`
for each line (kind `cpu`, `memory`, `mount`, `load1`), `window-<kind>` for each shaded window.

matplotlib is imported inside the functions (a CLI start must not pay for it), drawn through its
SVG canvas on a `Figure` of its own: no pyplot, no state left between calls.
"""

from __future__ import annotations

import base64
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from pelihara.collector.health_series import Series, read_health_around
from pelihara.collector.health_window import DEFAULT_WINDOW
from pelihara.core.times import as_utc, long_date
from pelihara.facts.health_window import CPU, LOAD1, MEMORY, MOUNT, Metric

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from pelihara.timeseries.base import Store

PANELS = (CPU, MEMORY, MOUNT, LOAD1)  # top to bottom
PERCENT_KINDS = (CPU, MEMORY, MOUNT)
WIDTH_INCHES = 6.7  # the text width of an A4 page with 2 cm margins
PANEL_INCHES = 1.35  # one panel's plot area
LEGEND_COLUMNS = 4
LEGEND_INCHES, LEGEND_ROW_INCHES = 0.08, 0.14  # above each panel: its legend, row by row
LEFT_INCHES, RIGHT_INCHES, BOTTOM_INCHES = 0.6, 0.25, 0.5  # tick labels and axis labels
SALT = "pelihara-health-chart"  # svg.hashsalt: fixed ids, so fixed bytes
SHADE = "#f2c14e"
DAY_SECONDS = 86400.0
GAP_FACTOR = 3.0  # a pause longer than 3 usual intervals breaks the line

LABELS: Mapping[str, Mapping[str, str]] = {
    "id": {CPU: "CPU terpakai (%)", MEMORY: "Memori terpakai (%)", MOUNT: "Disk terpakai (%)",
           LOAD1: "Beban (1 menit)", "time": "Waktu", "window": "Jendela pemeliharaan",
           "source": "sumber",
           "none": "Tidak ada data kesehatan server ini di penyimpanan deret waktu untuk "
                   "rentang waktu pemeliharaan."},
    "en": {CPU: "CPU busy (%)", MEMORY: "Memory used (%)", MOUNT: "Disk used (%)",
           LOAD1: "Load (1 minute)", "time": "Time", "window": "Maintenance window",
           "source": "source",
           "none": "The time-series store holds no health data of this server around the "
                   "maintenance."},
}  # fmt: skip
RC = {
    "date.epoch": "1970-01-01T00:00:00",  # the x values are days since it (`_days`)
    "svg.hashsalt": SALT,
    "svg.fonttype": "none",
    "text.parse_math": False,  # a `$` in a mount point is text, not TeX
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same metrics everywhere
    "font.size": 7.5,
    "axes.titlesize": 8,
    "legend.fontsize": 6.5,
}
METADATA = {"Date": None, "Creator": "pelihara"}


def _labels(lang: str) -> Mapping[str, str]:
    return LABELS["en" if lang == "en" else "id"]


def no_series_text(lang: str = "id") -> str:
    """What the document says in place of the chart of a server without series."""
    return _labels(lang)["none"]


def day_text(day: date, lang: str = "id") -> str:
    """DAY as people write it: `3 Desember 2026` (`3 December 2026` in English)."""
    return long_date(day, lang)


def time_axis_label(start: datetime, end: datetime, zone: tzinfo, lang: str = "id") -> str:
    """The time axis' label: `Waktu (WIB), 3 Desember 2026`; a span over two days names both
    dates in full: `Waktu (WIB), 3 Desember 2026 - 4 Desember 2026`."""
    first, last = as_utc(start).astimezone(zone), as_utc(end).astimezone(zone)
    days = day_text(first.date(), lang)
    if last.date() != first.date():
        days = f"{days} - {day_text(last.date(), lang)}"
    return f"{_labels(lang)['time']} ({first.tzname()}), {days}"


def _panels(series: Mapping[Metric, Series]) -> list[tuple[str, list[Series]]]:
    """The kinds that have a series, in `PANELS` order, each with its series (mounts by name)."""
    by_kind = {kind: sorted((s for m, s in series.items() if m.kind == kind and s.values),
                            key=lambda s: s.metric.mount or "") for kind in PANELS}  # fmt: skip
    return [(kind, found) for kind, found in by_kind.items() if found]


def _days(moment: datetime) -> float:
    """MOMENT as matplotlib's x value: days since `date.epoch` (1970-01-01 UTC)."""
    return as_utc(moment).timestamp() / DAY_SECONDS


def _line_days(line: Series) -> list[float]:
    return [ns / (DAY_SECONDS * 1e9) for ns in line.times_ns]


def _broken_at_gaps(days: list[float], values: Sequence[float]) -> tuple[list[float], list[float]]:
    """DAYS and VALUES with a NaN (a break in the line) wherever the samples paused for more
    than GAP_FACTOR times their usual (median) interval: a server that was down during the work
    shows a gap, not a straight line across it."""
    steps = sorted(later - earlier for earlier, later in itertools.pairwise(days))
    limit = GAP_FACTOR * steps[len(steps) // 2] if len(steps) >= 2 else math.inf
    xs, ys = days[:1], list(values[:1])
    for (earlier, later), value in zip(itertools.pairwise(days), values[1:], strict=True):
        if limit > 0 and later - earlier > limit:
            xs.append((earlier + later) / 2)
            ys.append(math.nan)
        xs.append(later)
        ys.append(value)
    return xs, ys


def _span(series: Sequence[Series], start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The time axis' limits: the window and every sample."""
    times = [t for s in series for t in s.times()] + [as_utc(start), as_utc(end)]
    return min(times), max(times)


def _line_label(line: Series, lang: str) -> str:
    if line.metric.kind == MOUNT:
        return f"{line.metric.mount} ({line.source})"
    return f"{_labels(lang)['source']}: {line.source}"


def _draw_panel(axes: Axes, kind: str, lines: Sequence[Series], window: tuple[datetime, datetime],
                lang: str, first: bool) -> None:  # fmt: skip
    """One panel: its lines (ids `series-KIND-N`), the shaded window (`window-KIND`, named in
    the FIRST panel's legend only), its label; the legend above it, off the lines."""
    label = _labels(lang)["window"] if first else "_nolegend_"
    start, end = _days(window[0]), _days(window[1])
    shade = axes.axvspan(start, end, color=SHADE, alpha=0.35, linewidth=0, label=label)
    shade.set_gid(f"window-{kind}")
    for number, line in enumerate(lines):
        marker = "." if len(line.values) <= 60 else None
        xs, ys = _broken_at_gaps(_line_days(line), line.values)
        (drawn,) = axes.plot(xs, ys, linewidth=1.1, marker=marker, markersize=3,
                             label=_line_label(line, lang))  # fmt: skip
        drawn.set_gid(f"series-{kind}-{number}")
    axes.set_ylabel(_labels(lang)[kind])
    if kind in PERCENT_KINDS:
        axes.set_ylim(0, max(100.0, *(max(line.values) for line in lines)))
    else:
        axes.set_ylim(bottom=0)
    axes.grid(True, linewidth=0.3, alpha=0.6)
    axes.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False, ncols=LEGEND_COLUMNS,
                borderaxespad=0.1)  # fmt: skip


def _time_axis(axes: Axes, start: datetime, end: datetime, zone: tzinfo, lang: str) -> None:
    from matplotlib.dates import AutoDateLocator, DateFormatter

    one_day = as_utc(start).astimezone(zone).date() == as_utc(end).astimezone(zone).date()
    pattern = "%H:%M" if one_day else "%d/%m %H:%M"
    axes.xaxis.set_major_locator(AutoDateLocator(tz=zone))  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(DateFormatter(pattern, tz=zone))  # type: ignore[no-untyped-call]
    axes.set_xlabel(time_axis_label(start, end, zone, lang))


def _legend_inches(panels: list[tuple[str, list[Series]]]) -> float:
    """Room above each panel for the tallest legend (the first one also names the window)."""
    entries = max(len(lines) + (number == 0) for number, (_, lines) in enumerate(panels))
    return LEGEND_INCHES + LEGEND_ROW_INCHES * -(-entries // LEGEND_COLUMNS)


def _figure(panels: list[tuple[str, list[Series]]], window: tuple[datetime, datetime],
            zone: tzinfo, lang: str) -> Figure:  # fmt: skip
    from matplotlib.figure import Figure

    legend = _legend_inches(panels)
    height = BOTTOM_INCHES + (legend + PANEL_INCHES) * len(panels)
    figure = Figure(figsize=(WIDTH_INCHES, height))
    grid = figure.subplots(len(panels), 1, sharex=True, squeeze=False)
    figure.subplots_adjust(  # fixed margins: a layout engine would double the drawing time
        left=LEFT_INCHES / WIDTH_INCHES, right=1 - RIGHT_INCHES / WIDTH_INCHES,
        bottom=BOTTOM_INCHES / height, top=1 - legend / height, hspace=legend / PANEL_INCHES,
    )  # fmt: skip
    for number, (axes, (kind, lines)) in enumerate(zip(grid[:, 0], panels, strict=True)):
        _draw_panel(axes, kind, lines, window, lang, first=number == 0)
    start, end = _span([line for _, lines in panels for line in lines], *window)
    grid[-1, 0].set_xlim(_days(start), _days(end))
    _time_axis(grid[-1, 0], start, end, zone, lang)
    return figure


def health_charts(
    series: Mapping[Metric, Series],
    window_start: datetime,
    window_end: datetime,
    zone: tzinfo,
    lang: str = "id",
) -> str | None:
    """The SVG document (text) of SERIES (`collector.health_series.read_health_around`) with
    the maintenance window WINDOW_START..WINDOW_END shaded, times in ZONE, labels in LANG
    ("id" or "en"); None when no metric has a sample."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    panels = _panels(series)
    if not panels:
        return None
    window = (as_utc(window_start), as_utc(window_end))
    buffer = io.BytesIO()
    # rc_context restores every setting on leaving; its keys are typed as literals
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        figure = _figure(panels, window, zone, lang)
        FigureCanvasSVG(figure)  # the figure's canvas: SVG, whatever the default backend
        figure.savefig(buffer, format="svg", metadata=dict(METADATA))
    return buffer.getvalue().decode("utf-8")


def server_health_chart(
    store: Store,
    host: str,
    window_start: datetime,
    window_end: datetime,
    zone: tzinfo,
    lang: str = "id",
    margin: timedelta = DEFAULT_WINDOW,
) -> str | None:
    """HOST's chart from MARGIN before WINDOW_START (the pre snapshot's time) to MARGIN after
    WINDOW_END (the post's), read from STORE (`collector.health_window.open_health_store`);
    None without series; HealthNotCompared when the store cannot be read."""
    series = read_health_around(store, host, window_start, window_end, margin)
    return health_charts(series, window_start, window_end, zone, lang)


def svg_data_uri(svg: str) -> str:
    """SVG as a `data:` URI for an `<img src=...>`: no script runs, no id of two charts in one
    page can meet, and WeasyPrint draws it as a vector."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
