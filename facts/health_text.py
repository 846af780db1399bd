"""The health comparison as people read it: rows of text, and Markdown and HTML fragments
built from them (the `snapshot diff` table, its `--format markdown|html`, the report).

>>> print(markdown_not_compared("the store at victoriametrics://vm:8428 is unreachable"))
**Health not compared:** the store at victoriametrics://vm:8428 is unreachable

Pure text in, text out: times are shown in the ZONE the caller passes (the configured one).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from pelihara.facts.health_window import (
    CPU,
    LOAD1,
    MEMORY,
    PERCENT,
    UNITS,
    Flag,
    HostHealthComparison,
    MetricComparison,
    Side,
)

COLUMNS = ("metric", "source", "before mean", "before p95", "after mean", "after p95",
           "change", "flag")  # fmt: skip
NO_DATA = "no data"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"
_LABELS = {CPU: "CPU busy (%)", LOAD1: "load (1 min)", MEMORY: "memory used (%)"}


def metric_label(compared: MetricComparison) -> str:
    """`CPU busy (%)`, `load (1 min)`, `memory used (%)`, `mount /var used (%)`."""
    metric = compared.metric
    return _LABELS.get(metric.kind) or f"mount {metric.mount} used (%)"


def flag_text(flag: Flag, unit: str) -> str:
    """`rise +33.0 > +20`, `ratio x2.4 > x1.5`, `ratio from 0 > x1.5`, `over 90: 95.2`."""
    points = " points" if unit == PERCENT else ""
    if flag.rule == "ceiling":
        return f"over {flag.threshold:g}: {_value(flag.value)}"
    if flag.rule == "ratio":
        shown = "from 0" if flag.value is None else f"x{flag.value:.1f}"
        return f"ratio {shown} > x{flag.threshold:g}"
    return f"rise {_signed(flag.value)}{points} > +{flag.threshold:g}"


def _value(value: float | None) -> str:
    return NO_DATA if value is None else f"{round(value, 1) + 0.0:.1f}"  # never "-0.0"


def _signed(value: float | None) -> str:
    """`+8.0`, `-1.5`; a change that rounds to nothing is `0.0`, never `-0.0` or `+0.0`."""
    if value is None:
        return NO_DATA
    rounded = round(value, 1) + 0.0
    return f"{rounded:+.1f}" if rounded else "0.0"


def _source(compared: MetricComparison) -> str:
    first = compared.before.source if compared.before else None
    second = compared.after.source if compared.after else None
    if first == second or second is None:
        return first or "-"
    return second if first is None else f"{first} -> {second}"


def _cells(side: Side | None) -> list[str]:
    return [NO_DATA, NO_DATA] if side is None else [_value(side.mean), _value(side.p95)]


def metric_row(compared: MetricComparison) -> list[str]:
    """One row of `COLUMNS`: "no data" for a side without samples, never 0."""
    unit = UNITS[compared.metric.kind]
    flags = "; ".join(flag_text(flag, unit) for flag in compared.flags)
    change = "" if compared.change is None else _signed(compared.change)
    return [metric_label(compared), _source(compared), *_cells(compared.before),
            *_cells(compared.after), change, flags]  # fmt: skip


def health_rows(compared: HostHealthComparison) -> list[list[str]]:
    """The rows of `COLUMNS` for every metric, in the comparison's order."""
    return [metric_row(metric) for metric in compared.metrics]


def shown_time(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime(TIME_FORMAT)


def windows_text(compared: HostHealthComparison, zone: tzinfo = UTC) -> str:
    """`before 2026-12-04 07:30:00 WIB to 08:30:00 WIB; after ...`, in ZONE."""
    spans = [
        f"{name} {shown_time(window.start, zone)} to {shown_time(window.end, zone)}"
        for name, window in (("before", compared.before), ("after", compared.after))
    ]
    return "; ".join(spans)


def no_series_text(compared: HostHealthComparison) -> str:
    return f"no health series for {compared.host} in either window"


def summary_text(compared: HostHealthComparison) -> str:
    """One line: no series, nothing beyond the thresholds, or how many metrics were flagged."""
    if not compared.has_series:
        return no_series_text(compared)
    flagged = compared.flagged
    if not flagged:
        return f"{compared.host}: health within the thresholds"
    names = ", ".join(metric_label(metric) for metric in flagged)
    return f"{compared.host}: {len(flagged)} metric(s) beyond the thresholds: {names}"


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    aligned = ["---", "---", *["---:"] * 5, "---"]
    lines = ["| " + " | ".join(COLUMNS) + " |", "| " + " | ".join(aligned) + " |"]
    lines += ["| " + " | ".join(_markdown_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def health_markdown(compared: HostHealthComparison, zone: tzinfo = UTC) -> str:
    """A Markdown fragment: a heading, the windows, a summary line and the table."""
    heading = f"#### Health of {_markdown_cell(compared.host)} around the maintenance"
    parts = [heading, "", f"{windows_text(compared, zone)}.", "", summary_text(compared) + "."]
    if compared.has_series:
        parts += ["", markdown_table(health_rows(compared))]
    return "\n".join(parts) + "\n"


def markdown_not_compared(reason: str) -> str:
    return f"**Health not compared:** {_markdown_cell(reason)}"


def _html_row(row: Sequence[str], flagged: bool) -> str:
    cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
    return f'<tr class="flagged">{cells}</tr>' if flagged else f"<tr>{cells}</tr>"


def health_html(compared: HostHealthComparison, zone: tzinfo = UTC) -> str:
    """An HTML fragment (no style of its own, no script): heading, windows, summary, table;
    a flagged row has `class="flagged"`."""
    parts = [
        '<section class="health">',
        f"<h4>Health of {html.escape(compared.host)} around the maintenance</h4>",
        f"<p>{html.escape(windows_text(compared, zone))}.</p>",
        f"<p>{html.escape(summary_text(compared))}.</p>",
    ]
    if compared.has_series:
        head = "".join(f"<th>{html.escape(name)}</th>" for name in COLUMNS)
        body = [_html_row(metric_row(m), bool(m.flags)) for m in compared.metrics]
        parts += [f"<table><thead><tr>{head}</tr></thead><tbody>", *body, "</tbody></table>"]
    return "\n".join([*parts, "</section>"]) + "\n"


def html_not_compared(reason: str) -> str:
    reason_html = html.escape(reason)
    return f'<p class="health-not-compared"><strong>Health not compared:</strong> {reason_html}</p>'
