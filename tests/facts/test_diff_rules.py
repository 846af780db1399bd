"""The diff's rules file: the packaged defaults, and a malformed file refused by file and field."""

from __future__ import annotations

import pytest

from pelihara.core.errors import ExitCode, InputError
from pelihara.facts.changes import CATEGORIES, SEVERITIES
from pelihara.facts.diff_rules import RULE_NAMES, rules_from_dict, rules_from_yaml, rules_to_dict
from tests.facts.snapshots import RULES_FILE, rules

TEXT = RULES_FILE.read_text(encoding="utf-8")


def refused(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        rules_from_yaml(text, "my-rules.yaml")
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert caught.value.outcome == "the rules were not used"
    return [str(problem) for problem in caught.value.problems]


def test_the_packaged_rules_name_every_change_once() -> None:
    assert set(rules().changes) == set(RULE_NAMES) and len(RULE_NAMES) == len(set(RULE_NAMES))
    assert {rule.category for rule in rules().changes.values()} == set(CATEGORIES)


def test_the_packaged_rules_say_what_the_issue_asks() -> None:
    changes = rules().changes
    assert changes["services.stopped"].severity == "high"
    assert changes["listening_ports.removed"].severity == "high"
    assert changes["ssh_host_keys.fingerprint_sha256"].severity == "high"
    assert changes["ssh_host_keys.fingerprint_sha256"].when_expected == "info"
    assert (changes["identity.boot_time"].category, changes["identity.boot_time"].severity) == (
        "os",
        "info",
    )
    assert changes["memory_total_bytes"].category == "hardware"
    assert changes["disks.added"].category == "storage"
    assert changes["addresses.added"].category == "network"
    assert changes["os.kernel"].category == "os"
    assert rules().tolerances["mount_used_percent"] == 5.0


def test_running_states_are_patterns() -> None:
    assert rules().is_running("active/running") and rules().is_running("active/exited")
    assert rules().is_running("running")
    assert not rules().is_running("failed/failed") and not rules().is_running("inactive/dead")


def test_the_dict_form_reads_back_equal() -> None:
    again = rules_from_dict(rules_to_dict(rules()), "diff_rules.yaml")
    assert again == rules()


def test_a_wrong_severity_and_category_are_named_by_field() -> None:
    text = TEXT.replace(
        "disks.added: {category: storage, severity: warning}",
        "disks.added: {category: disks, severity: severe}",
    )
    assert refused(text) == [
        "my-rules.yaml [changes.disks.added.category]: expected one of "
        + ", ".join(CATEGORIES)
        + ", got 'disks'",
        "my-rules.yaml [changes.disks.added.severity]: expected one of "
        + ", ".join(SEVERITIES)
        + ", got 'severe'",
    ]


def test_a_missing_and_an_unknown_change_are_named() -> None:
    text = TEXT.replace("  packages.added:", "  packages.installed:")
    problems = refused(text)
    assert (
        "my-rules.yaml [changes.packages.added]: missing: every change needs its rule" in problems
    )
    assert any(
        p.startswith("my-rules.yaml [changes.packages.installed]: unknown field") for p in problems
    )
    assert len(problems) == 2


def test_a_tolerance_that_is_not_a_number_and_a_wrong_version() -> None:
    text = TEXT.replace("mount_used_percent: 5", "mount_used_percent: five").replace(
        "version: 1", "version: 2"
    )
    assert refused(text) == [
        "my-rules.yaml [tolerances.mount_used_percent]: expected a number >= 0, got 'five'",
        "my-rules.yaml [version]: expected 1, got '2'",
    ]


def test_bad_yaml_is_named_with_its_line() -> None:
    (problem,) = refused("version: 1\nchanges: [\n")
    assert problem.startswith("my-rules.yaml:3: not valid YAML")


def test_anchors_and_aliases_are_refused() -> None:
    (problem,) = refused("version: 1\na: &x [1]\nb: *x\n")
    assert "anchors (&name) and aliases (*name) are not accepted" in problem


def test_a_file_that_is_not_a_mapping() -> None:
    assert refused("- 1\n- 2\n") == ["my-rules.yaml: expected a mapping, got a list"]
    assert refused("") == ["my-rules.yaml: expected a mapping, got nothing"]


def test_ignore_patterns_apply_to_labels() -> None:
    services = rules().ignored("services")
    assert services is not None
    assert services.fullmatch("kworker/0:1-events") and not services.fullmatch("sshd")
    assert rules().ignored("packages") is None
