"""The snapshot diff's rules as data: every change's category and severity, which service
states count as running, which items come and go by themselves, and the tolerances of the
volatile values. The defaults are `diff_rules.yaml` beside this module; `--rules FILE`
replaces them for one run.

Parsed from TEXT (this package does no I/O: the caller reads the file and names it):

>>> rules = rules_from_yaml(text, "/etc/pelihara/diff-rules.yaml")     # doctest: +SKIP
>>> rules.changes["services.stopped"]                                  # doctest: +SKIP
ChangeRule(category='services', severity='high', when_expected=None)

A malformed file is an `InputError` listing every problem by file and field
(`rules.yaml [changes.disks.added.severity]: expected one of info, low, warning, high`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pelihara.core.canonical import sha256_hex
from pelihara.facts.changes import CATEGORIES, SEVERITIES
from pelihara.facts.yaml_text import Checker, load_yaml

RULES_VERSION = 1
OUTCOME = "the rules were not used"

# Every collection the diff pairs by key, and the fields it compares in each (the key's own
# fields are what pairs them; the volatile ones of keys.VOLATILE have a tolerance or none).
COLLECTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "disks": ("name", "size_bytes", "model"),
        "mounts": ("device", "fstype", "total_bytes", "used_bytes"),
        "interfaces": ("name", "is_up", "speed_mbps"),
        "addresses": ("interface",),
        "services": ("state", "source"),
        "listening_ports": ("process",),
        "packages": ("version",),
        "ssh_host_keys": ("fingerprint_sha256",),
    }
)
# The single values, compared field by field.
VALUES: tuple[str, ...] = (
    "identity.hostname", "identity.fqdn", "identity.machine_id", "identity.dmi_vendor",
    "identity.dmi_product", "identity.dmi_serial", "identity.boot_time",
    "cpu.model", "cpu.sockets", "cpu.cores", "cpu.threads", "memory_total_bytes",
    "os.name", "os.id", "os.version", "os.kernel",
)  # fmt: skip


def _rule_names() -> tuple[str, ...]:
    names = list(VALUES)
    for collection, fields in COLLECTIONS.items():
        names += [f"{collection}.added", f"{collection}.removed"]
        names += [f"{collection}.{field}" for field in fields]
    return (*names, "services.started", "services.stopped")


RULE_NAMES: tuple[str, ...] = _rule_names()
TOLERANCES = ("mount_used_percent", "memory_total_percent", "memory_intent_percent",
              "boot_time_seconds")  # fmt: skip
TOP_FIELDS = {"version", "changes", "running_states", "ignore", "tolerances"}


@dataclass(frozen=True)
class ChangeRule:
    category: str
    severity: str
    when_expected: str | None = None  # the severity when an intent declares the change


@dataclass(frozen=True)
class DiffRules:
    """The rules of one diff run; `source` names where they came from (shown in the diff)."""

    source: str
    changes: Mapping[str, ChangeRule]
    running_states: tuple[str, ...]
    ignore: Mapping[str, tuple[str, ...]]
    tolerances: Mapping[str, float]

    def is_running(self, state: str) -> bool:
        return any(fnmatch.fnmatchcase(state, pattern) for pattern in self.running_states)

    def ignored(self, collection: str) -> re.Pattern[str] | None:
        """One compiled pattern for the collection's ignored labels, or None."""
        patterns = self.ignore.get(collection, ())
        if not patterns:
            return None
        return re.compile("|".join(fnmatch.translate(pattern) for pattern in patterns))


def rules_from_yaml(text: str, source: str) -> DiffRules:
    """Rules from the YAML TEXT of the file named SOURCE; InputError when malformed."""
    return rules_from_dict(load_yaml(text, source, OUTCOME), source)


def rules_from_dict(data: Any, source: str) -> DiffRules:
    """Rules from plain data (YAML's text scalars or JSON's numbers alike)."""
    check = Checker(source)
    top = check.mapping(data, "", TOP_FIELDS)
    if not isinstance(data, dict):  # nothing more to say of a list or an empty file
        check.check(OUTCOME)
    if str(top.get("version")) != str(RULES_VERSION):
        check.problem("version", f"expected {RULES_VERSION}, got {top.get('version')!r}")
    rules = DiffRules(
        source=source,
        changes=_changes(check, top.get("changes")),
        running_states=_patterns(check, top.get("running_states"), "running_states"),
        ignore=_ignore(check, top.get("ignore", {})),
        tolerances=_tolerances(check, top.get("tolerances")),
    )
    check.check(OUTCOME)
    return rules


def _changes(check: Checker, data: Any) -> Mapping[str, ChangeRule]:
    entries = check.mapping(data, "changes", set(RULE_NAMES))
    for name in RULE_NAMES:
        if entries and name not in entries:
            check.problem(f"changes.{name}", "missing: every change needs its rule")
    found = {
        name: _change_rule(check, entries[name], f"changes.{name}")
        for name in RULE_NAMES
        if name in entries
    }
    return MappingProxyType(found)


def _change_rule(check: Checker, data: Any, where: str) -> ChangeRule:
    entry = check.mapping(data, where, {"category", "severity", "when_expected"})
    category = check.choice(entry.get("category"), f"{where}.category", CATEGORIES)
    severity = check.choice(entry.get("severity"), f"{where}.severity", SEVERITIES)
    when = entry.get("when_expected")
    if when is not None:
        when = check.choice(when, f"{where}.when_expected", SEVERITIES)
    return ChangeRule(category or "", severity or "info", when)


def _patterns(check: Checker, data: Any, where: str) -> tuple[str, ...]:
    return tuple(
        text
        for index, item in enumerate(check.items(data, where))
        if (text := check.text(item, f"{where}[{index}]")) is not None
    )


def _ignore(check: Checker, data: Any) -> Mapping[str, tuple[str, ...]]:
    if data == "":  # `ignore:` with nothing under it
        return MappingProxyType({})
    entries = check.mapping(data, "ignore", set(COLLECTIONS))
    return MappingProxyType(
        {name: _patterns(check, entries[name], f"ignore.{name}") for name in sorted(entries)}
    )


def _tolerances(check: Checker, data: Any) -> Mapping[str, float]:
    entries = check.mapping(data, "tolerances", set(TOLERANCES))
    found = {}
    for name in TOLERANCES:
        if entries and name not in entries:
            check.problem(f"tolerances.{name}", "missing")
        elif name in entries:
            value = check.number(entries[name], f"tolerances.{name}")
            found[name] = value if value is not None else 0.0
    return MappingProxyType(found)


def rules_to_dict(rules: DiffRules) -> dict[str, Any]:
    """The rules as plain data, as `rules_from_dict` reads them back (the source aside)."""
    return {
        "version": RULES_VERSION,
        "changes": {
            name: {key: value for key, value in vars(rule).items() if value is not None}
            for name, rule in sorted(rules.changes.items())
        },
        "running_states": list(rules.running_states),
        "ignore": {name: list(patterns) for name, patterns in sorted(rules.ignore.items())},
        "tolerances": dict(sorted(rules.tolerances.items())),
    }


def rules_sha256(rules: DiffRules) -> str:
    """The rules' hash, stored with a diff: which rules made it, wherever the file was."""
    return sha256_hex(rules_to_dict(rules))
