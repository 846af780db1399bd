"""The diff as Markdown and self-contained HTML, rows worst first, values escaped."""

from __future__ import annotations

from html.parser import HTMLParser

from pelihara.facts.changes import diff_to_dict
from pelihara.facts.diff_render import diff_html, diff_markdown, value_text
from pelihara.facts.model import Package
from tests.facts.snapshots import diff, edit, intents, replace, rocky


def sample() -> dict:
    before = rocky()
    after = replace(
        before,
        services=edit(before.services, lambda s: s.name == "nginx.service", state="failed/failed"),
        packages=(*before.packages, Package("a|b<script>", "1", "rpm")),
        disks=edit(before.disks, lambda d: d.name == "sda", name="sdc"),
    )
    declared = intents("  - {action: remove_package, name: telnet}\n")
    return diff_to_dict(diff(before, after, declared))


def test_markdown_rows_are_ranked_and_cells_escaped() -> None:
    text = diff_markdown(sample(), "db01: pre -> post")
    lines = text.splitlines()
    assert lines[0] == "# db01: pre -> post"
    assert "**Identity:** same machine" in text
    table = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0] for row in table] == ["| high", "| low", "| info"]
    assert (
        table[0]
        == "| high | services | nginx.service: state | active/running | failed/failed | no |"
    )
    assert "a\\|b<script> started" not in text and "a\\|b<script> added" in text
    assert "- remove_package (name=telnet)" in lines
    assert "## Not compared" not in text  # the synthetic server read everything


def test_html_is_one_page_with_nothing_to_fetch_and_escaped() -> None:
    page = diff_html(sample(), "db01 <pre>")
    assert page.startswith("<!DOCTYPE html>") and "<title>db01 &lt;pre&gt;</title>" in page
    assert "<script>" not in page and "a|b&lt;script&gt; added" in page
    for fetching in ("src=", "href=", "@import", "url("):
        assert fetching not in page
    cells: list[str] = []

    class Cells(HTMLParser):
        def handle_data(self, data: str) -> None:
            cells.append(data)

    Cells().feed(page)
    severities = [c for c in cells if c in {"high", "warning", "low", "info"}]
    assert severities == ["high", "low", "info"]


def test_sizes_are_readable_with_the_exact_figure() -> None:
    assert value_text(1610612736, "size_bytes") == "1.5 GiB (1610612736)"
    assert value_text(1610612736, "port") == "1610612736"
    assert value_text(None) == "—"
    assert value_text({"name": "htop", "version": "3", "manager": None}) == "name=htop, version=3"
