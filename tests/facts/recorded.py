"""The recorded (and synthetic) outputs of the SSH facts bundle in tests/fixtures/bundle (see
its README), read once and split into sections."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pelihara.facts.section import split_sections

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bundle"
DEBIAN = "debian12-container"
ROCKY = "rocky9-dell-synthetic"


def fixture_text(case: str) -> str:
    return (FIXTURES / f"{case}.txt").read_text(encoding="utf-8")


@cache
def sections(case: str) -> dict[str, str]:
    return split_sections(fixture_text(case))


def section(case: str, name: str) -> str:
    return sections(case)[name]
