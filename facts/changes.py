"""What a snapshot diff says: its changes, the identity verdict, the intents not seen, and
what could not be compared; and its one canonical dict form (JSON, hashing, storage).

Severities are an ordered scale, lowest first: `info` (worth knowing, never a problem:
a reboot), `low` (expected in the life of a server: a package upgraded), `warning` (a person
should look: a disk or an address changed), `high` (the server is not what it was or does
not do what it did: a service that ran and does not, a port that no longer listens, a new
host key). The rules file gives every change its category and severity.

>>> diff_to_dict(diff)["changes"][0]                           # doctest: +SKIP
{'after': None, 'before': {'name': 'nginx.service', 'source': 'systemd',
 'state': 'active/running'}, 'category': 'services', 'expected': False, 'field': None,
 'key': ['nginx.service'], 'kind': 'removed', 'label': 'nginx.service',
 'path': 'services', 'rule': 'services.stopped', 'severity': 'high'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pelihara.core.canonical import canonical_json

if TYPE_CHECKING:  # intents.py reads Change: only the type is needed here
    from pelihara.facts.intents import Intent

SEVERITIES: tuple[str, ...] = ("info", "low", "warning", "high")  # lowest first
CATEGORIES: tuple[str, ...] = (
    "hardware", "storage", "network", "os", "packages", "services", "ports", "identity",
)  # fmt: skip
KINDS: tuple[str, ...] = ("added", "removed", "changed")
DIFF_FORMAT = "pelihara.facts-diff"
DIFF_VERSION = 1


def severity_rank(severity: str) -> int:
    """0 for info ... 3 for high: the order in which changes are shown, worst first."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Change:
    """One difference: an item added or removed, or one field of a value or an item changed.

    `path` names the fact (`packages`, `identity.machine_id`); `key` the item in a collection
    (its stable key, `()` for a single value); `field` the field that changed (None for a
    whole item or a single value); `before`/`after` plain JSON values (None on the side
    where the item is absent); `rule` the rules-file entry that classified it; `expected`
    True/False against the intents, None when no intents were given.
    """

    path: str
    key: tuple[str | int, ...]
    label: str
    kind: str
    field: str | None
    before: Any
    after: Any
    rule: str
    category: str
    severity: str
    expected: bool | None = None


@dataclass(frozen=True, order=True)
class NotCompared:
    """A fact that was not read (null) on one side or both, so it was not compared.

    `side` is "before", "after" or "both"; `count` the number of items of a collection whose
    field was not read (1 for a single value or a whole collection)."""

    path: str
    side: str
    count: int = 1


@dataclass(frozen=True)
class Evidence:
    """One sign of which machine a snapshot is: `outcome` is `same`, `partly` (some of a
    set kept), `changed`, or `not_read` (null on a side: no evidence either way)."""

    name: str
    outcome: str
    before: Any
    after: Any


@dataclass(frozen=True)
class IdentityVerdict:
    """`same` machine, `changed` (the same machine with parts changed), `different`
    machine, or `unknown` (no evidence could be compared); with the evidence that decided."""

    verdict: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class FactsDiff:
    """Everything `diff_facts` found; `changes` ranked worst first (see `rank_key`)."""

    changes: tuple[Change, ...]
    identity: IdentityVerdict
    missing_intents: tuple[Intent, ...]
    not_compared: tuple[NotCompared, ...]
    rules_source: str
    rules_sha256: str

    def unexpected(self, at_least: str = "warning") -> tuple[Change, ...]:
        """The changes not declared by an intent at AT_LEAST severity: what fails a check.

        Without intents (`expected` None) every change counts as unexpected."""
        floor = severity_rank(at_least)
        return tuple(
            change
            for change in self.changes
            if change.expected is not True and severity_rank(change.severity) >= floor
        )


def rank_key(change: Change) -> tuple[int, str, str, str, str, str]:
    """Worst first, then by category, fact, item and field: a total, stable order."""
    return (
        -severity_rank(change.severity),
        change.category,
        change.path,
        canonical_json(list(change.key)),
        change.field or "",
        change.kind,
    )


def change_to_dict(change: Change) -> dict[str, Any]:
    return {
        "path": change.path,
        "key": list(change.key),
        "label": change.label,
        "kind": change.kind,
        "field": change.field,
        "before": change.before,
        "after": change.after,
        "rule": change.rule,
        "category": change.category,
        "severity": change.severity,
        "expected": change.expected,
    }


def diff_to_dict(diff: FactsDiff) -> dict[str, Any]:
    """The diff as plain data, stable: changes in rank order, the lists sorted, so equal
    diffs give equal canonical JSON (`pelihara.core.canonical`) and equal hashes."""
    return {
        "format": DIFF_FORMAT,
        "version": DIFF_VERSION,
        "rules": {"source": diff.rules_source, "sha256": diff.rules_sha256},
        "summary": _summary(diff),
        "identity": {
            "verdict": diff.identity.verdict,
            "evidence": [vars(item).copy() for item in diff.identity.evidence],
        },
        "changes": [change_to_dict(change) for change in diff.changes],
        "missing_intents": sorted(
            (intent.to_dict() for intent in diff.missing_intents), key=canonical_json
        ),
        "not_compared": [vars(item).copy() for item in diff.not_compared],
    }


def _summary(diff: FactsDiff) -> dict[str, Any]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for change in diff.changes:
        counts[change.severity] += 1
    return {
        "changes": len(diff.changes),
        "by_severity": counts,
        "unexpected_warning_or_above": len(diff.unexpected()),
        "missing_intents": len(diff.missing_intents),
    }
