"""Facts for the diff's tests: the recorded agent document of tests/fixtures/facts, the
synthetic Rocky server of tests/fixtures/bundle, the packaged rules, and small editors."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any

import pelihara.facts
from pelihara.facts.bundle import parse_bundle
from pelihara.facts.changes import FactsDiff
from pelihara.facts.diff import diff_facts
from pelihara.facts.diff_rules import DiffRules, rules_from_yaml
from pelihara.facts.intents import Intents, intents_from_yaml
from pelihara.facts.model import Facts, facts_from_json
from tests.facts.recorded import ROCKY, fixture_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facts"
VM = "debian12-vm-agent"
RULES_FILE = Path(pelihara.facts.__file__).resolve().parent / "diff_rules.yaml"


@cache
def recorded(case: str = VM) -> Facts:
    """A recorded `agent facts --scope all` document (see tests/fixtures/facts/README.md)."""
    return facts_from_json((FIXTURES / f"{case}.json").read_text(encoding="utf-8"))


@cache
def rocky() -> Facts:
    """The synthetic Rocky 9 server: systemd, DMI, disk serials, two kernels."""
    return parse_bundle(fixture_text(ROCKY))


@cache
def rules() -> DiffRules:
    return rules_from_yaml(RULES_FILE.read_text(encoding="utf-8"), "diff_rules.yaml")


def intents(text: str) -> Intents:
    return intents_from_yaml(f"version: 1\nintents:\n{text}", "intents.yaml")


def diff(before: Facts, after: Facts, declared: Intents | None = None) -> FactsDiff:
    return diff_facts(before, after, rules(), declared)


def replace(item: Any, **changes: Any) -> Any:
    return dataclasses.replace(item, **changes)


def edit(items: tuple[Any, ...], match: Any, **changes: Any) -> tuple[Any, ...]:
    """ITEMS with every item for which MATCH(item) is true changed by CHANGES."""
    return tuple(dataclasses.replace(i, **changes) if match(i) else i for i in items)


def rows(result: FactsDiff) -> list[tuple[Any, ...]]:
    """Each change as (rule, label, kind, field, before, after, severity), in rank order."""
    return [
        (c.rule, c.label, c.kind, c.field, c.before, c.after, c.severity) for c in result.changes
    ]


def rules_of(result: FactsDiff) -> list[str]:
    return [change.rule for change in result.changes]
