"""The diff as Markdown and as one self-contained HTML page, from its dict form
(`diff_to_dict`), so a stored diff renders the same as a fresh one. Rows worst first.

Pure text out; the rich table of the terminal is the command line's.

>>> print(diff_markdown(diff_to_dict(diff), "web1: pre -> post"))     # doctest: +SKIP
# web1: pre -> post
**Identity:** same machine, parts changed ...
| severity | category | change | before | after | expected |
| --- | --- | --- | --- | --- | --- |
| high | services | nginx.service stopped | active/running | — | no |
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pelihara.core.canonical import utc_text
from pelihara.facts.changes import severity_rank

VERDICTS = {
    "same": "same machine",
    "changed": "same machine, parts changed",
    "different": "different machine",
    "unknown": "cannot tell: no evidence could be compared",
}
EXPECTED = {True: "yes", False: "no", None: ""}
HEADERS = ("severity", "category", "change", "before", "after", "expected")
NOTHING = "—"
COLOURS = {"high": "#b91c1c", "warning": "#b45309", "low": "#1d4ed8", "info": "#4b5563"}


def _bytes(count: int) -> str:
    """1610612736 -> "1.5 GiB (1610612736)": readable, and the exact figure beside it."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.1f} {unit} ({count})" if unit != "B" else f"{count} B"
        size /= 1024
    return str(count)  # pragma: no cover - the loop always returns


def value_text(value: Any, name: str = "") -> str:
    """One value as a cell: a whole item as `field=value, ...`, sizes readable."""
    if value is None:
        return NOTHING
    if isinstance(value, dict):
        return ", ".join(
            f"{key}={value_text(item, key)}" for key, item in value.items() if item is not None
        )
    if isinstance(value, int) and not isinstance(value, bool) and name.endswith("_bytes"):
        return _bytes(value)
    return str(value)


def change_text(change: Mapping[str, Any]) -> str:
    """What changed, in words: "nginx.service stopped", "openssl: version", "reboot"."""
    if change["kind"] in ("added", "removed"):
        verb = change["rule"].rsplit(".", 1)[-1]  # started/stopped say more than added/removed
        return f"{change['label']} {verb}"
    return f"{change['label']}: {change['field']}" if change["field"] else change["label"]


def rows(data: Mapping[str, Any]) -> Iterator[tuple[str, ...]]:
    """The table's rows, worst first (the dict form is ranked; sorted again if edited)."""
    ranked = sorted(data["changes"], key=lambda c: -severity_rank(c["severity"]))
    for change in ranked:
        name = change["field"] or change["path"]
        yield (
            change["severity"],
            change["category"],
            change_text(change),
            value_text(change["before"], name),
            value_text(change["after"], name),
            EXPECTED[change["expected"]],
        )


def intent_text(intent: Mapping[str, Any]) -> str:
    """An intent in words: `upgrade_package (name=openssl)`."""
    details = ", ".join(f"{k}={v}" for k, v in intent.items() if k != "action")
    return f"{intent['action']} ({details})" if details else str(intent["action"])


def unread_text(item: Mapping[str, Any]) -> str:
    """A fact not compared: `identity.dmi_serial: not read on either side`."""
    side = {"both": "on either side", "before": "before", "after": "after"}[item["side"]]
    count = f" ({item['count']} items)" if item["count"] > 1 else ""
    return f"{item['path']}: not read {side}{count}"


def _evidence_text(item: Mapping[str, Any]) -> str:
    return f"{item['name']}: {item['outcome'].replace('_', ' ')}"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def diff_markdown(data: Mapping[str, Any], title: str = "Snapshot diff") -> str:
    """The diff as GitHub-flavoured Markdown."""
    return "\n".join(_markdown_lines(data, title, 1)) + "\n"


def _markdown_lines(data: Mapping[str, Any], title: str, level: int, note: str = "") -> list[str]:
    identity = data["identity"]
    lines = [f"{'#' * level} {_md_cell(title)}", ""] + ([note, ""] if note else [])
    lines.append(f"**Identity:** {VERDICTS[identity['verdict']]} "
                 f"({'; '.join(_evidence_text(e) for e in identity['evidence'])})")  # fmt: skip
    lines += ["", f"**Changes:** {len(data['changes'])}", ""]
    if data["changes"]:
        lines.append("| " + " | ".join(HEADERS) + " |")
        lines.append("|" + " --- |" * len(HEADERS))
        lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows(data)]
    for heading, items in _lists(data):
        lines += ["", f"{'#' * (level + 1)} {heading}", ""]
        lines += [f"- {_md_cell(item)}" for item in items]
    lines += ["", f"Rules: {data['rules']['source']} (sha256 {data['rules']['sha256'][:12]})"]
    return lines


def _lists(data: Mapping[str, Any]) -> Iterator[tuple[str, list[str]]]:
    if data["missing_intents"]:
        yield "Expected but not seen", [intent_text(i) for i in data["missing_intents"]]
    if data["not_compared"]:
        yield "Not compared", [unread_text(item) for item in data["not_compared"]]


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#111}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#f3f4f6}.sev{font-weight:bold}"""


def diff_html(data: Mapping[str, Any], title: str = "Snapshot diff") -> str:
    """The diff as one HTML page: inline style, no script, no file or link to fetch."""
    return _page(title, _html_parts(data, title, 1))


def _page(title: str, body: list[str]) -> str:
    head = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>',
        f"<style>{STYLE}</style></head><body>",
    ]
    return "\n".join([*head, *body, "</body></html>"]) + "\n"


def _html_parts(data: Mapping[str, Any], title: str, level: int, note: str = "") -> list[str]:
    esc = html.escape
    identity = data["identity"]
    parts = [f"<h{level}>{esc(title)}</h{level}>"] + ([f"<p>{esc(note)}</p>"] if note else [])
    parts += [
        f"<p><strong>Identity:</strong> {esc(VERDICTS[identity['verdict']])}</p><ul>",
        *(f"<li>{esc(_evidence_text(e))}</li>" for e in identity["evidence"]),
        f"</ul><p><strong>Changes:</strong> {len(data['changes'])}</p>",
    ]
    if data["changes"]:
        parts.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in HEADERS) + "</tr>")
        parts += [_html_row(row) for row in rows(data)]
        parts.append("</table>")
    for heading, items in _lists(data):
        parts.append(f"<h{level + 1}>{esc(heading)}</h{level + 1}><ul>")
        parts += [f"<li>{esc(item)}</li>" for item in items]
        parts.append("</ul>")
    parts.append(f"<p>Rules: {esc(data['rules']['source'])}</p>")
    return parts


def _html_row(row: tuple[str, ...]) -> str:
    severity, *rest = row
    colour = COLOURS[severity]
    cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in rest)
    return f'<tr><td class="sev" style="color:{colour}">{severity}</td>{cells}</tr>'


# Several hosts in one document: `snapshot diff --ticket` (the dict of `DiffReport.to_dict`).


def _side_text(side: Mapping[str, Any]) -> str:
    taken = side["taken_at"]
    when = utc_text(taken) if isinstance(taken, datetime) else str(taken)
    return f"snapshot {side['snapshot']} ({side['phase']}, {when}, sha256 {side['sha256'][:12]})"


def _pair_note(item: Mapping[str, Any]) -> str:
    return f"{_side_text(item['before'])} → {_side_text(item['after'])}"


def _missing_text(item: Mapping[str, Any]) -> str:
    lacking = " and ".join(item["missing"])
    has = f"; has {_side_text(item['present'])}" if item["present"] else ""
    return f"{item['host']}: no {lacking} snapshot{has}"


def report_title(report: Mapping[str, Any]) -> str:
    """`Snapshot diff, ticket 2026/041`, or of the one pair compared."""
    if report["ticket"]:
        return f"Snapshot diff, ticket {report['ticket']}"
    return "Snapshot diff" + (f": {report['diffs'][0]['host']}" if report["diffs"] else "")


def report_markdown(report: Mapping[str, Any], extras: Mapping[str, str] | None = None) -> str:
    """Every host's diff (worst first within each), each followed by its EXTRAS fragment
    (its health around the window) if any, then the hosts not diffed."""
    lines = [f"# {_md_cell(report_title(report))}"]
    for item in report["diffs"]:
        note = _md_cell(_pair_note(item))
        lines += ["", *_markdown_lines(item["diff"], item["host"], 2, note)]
        if extras and item["host"] in extras:
            lines += ["", extras[item["host"]].rstrip("\n")]
    if report.get("health_error"):
        lines += ["", f"**Health not compared:** {_md_cell(report['health_error'])}"]
    if report["missing"]:
        lines += ["", "## Not diffed: a side is missing", ""]
        lines += [f"- {_md_cell(_missing_text(item))}" for item in report["missing"]]
    return "\n".join(lines) + "\n"


def report_html(report: Mapping[str, Any], extras: Mapping[str, str] | None = None) -> str:
    """`report_markdown` as one self-contained HTML page."""
    title = report_title(report)
    body = [f"<h1>{html.escape(title)}</h1>"]
    for item in report["diffs"]:
        body += _html_parts(item["diff"], item["host"], 2, _pair_note(item))
        if extras and item["host"] in extras:
            body.append(extras[item["host"]])
    if report.get("health_error"):
        reason = html.escape(report["health_error"])
        body.append(f"<p><strong>Health not compared:</strong> {reason}</p>")
    if report["missing"]:
        body.append("<h2>Not diffed: a side is missing</h2><ul>")
        body += [f"<li>{html.escape(_missing_text(item))}</li>" for item in report["missing"]]
        body.append("</ul>")
    return _page(title, body)
