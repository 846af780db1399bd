"""The diff's files: the packaged default rules, `--rules FILE`, `--intent FILE`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pelihara.collector.diff_inputs import (
    default_rules,
    default_rules_text,
    intents_from_file,
    rules_from_file,
)
from pelihara.core.errors import InputError
from pelihara.facts.diff_rules import RULE_NAMES


def test_the_default_rules_come_from_the_installed_package() -> None:
    rules = default_rules()
    assert rules.source == "pelihara/facts/diff_rules.yaml"
    assert set(rules.changes) == set(RULE_NAMES)
    assert default_rules_text().startswith("# pelihara's rules for `snapshot diff`")


def test_a_rules_file_replaces_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text(
        default_rules_text().replace(
            "packages.version: {category: packages, severity: low}",
            "packages.version: {category: packages, severity: high}",
        ),
        encoding="utf-8",
    )
    rules = rules_from_file(path)
    assert rules.source == str(path) and rules.changes["packages.version"].severity == "high"


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        rules_from_file(tmp_path / "nope.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"
    ]


def test_an_intent_file(tmp_path: Path) -> None:
    path = tmp_path / "T-17.yaml"
    path.write_text("version: 1\nintents:\n  - {action: reinstall}\n", encoding="utf-8")
    assert [i.action for i in intents_from_file(path).items] == ["reinstall"]
    path.write_text("version: 1\nintents:\n  - {action: paint}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        intents_from_file(path)
    assert str(caught.value.problems[0]).startswith(f"{path} [intents[0].action]: expected one of")
