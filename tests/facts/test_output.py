"""The small readers every parser of a tool's output shares."""

from __future__ import annotations

from pelihara.facts.output import optional_text


def test_optional_text_never_gives_an_empty_string() -> None:
    assert optional_text("  ") is None and optional_text(None) is None
    assert optional_text(" PowerEdge R740 \n") == "PowerEdge R740"
