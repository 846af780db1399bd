"""What a maintenance was meant to change, declared before the work: each change of the diff
is then expected or not, and each intent the diff did not see is reported missing.

Plain data, so a ticket can hold it as JSON (`intents_to_dict` / `intents_from_dict`), and
YAML for a person to write (`intents_from_yaml`):

    version: 1
    intents:
      - action: replace_disk
        serial: S3Z1NB0K          # as the inventory's components hold it
        by: S3Z1NB0X
      - {action: set_memory, total_gb: 64}
      - {action: upgrade_package, name: openssl, version: 3.0.15-1~deb12u1}
      - {action: reinstall, note: "new OS on the same hardware"}

One frozen dataclass per action, in ACTIONS (one registry line per action): each says which
changes it covers and whether it was seen.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pelihara.facts.changes import Change
from pelihara.facts.diff_rules import DiffRules
from pelihara.facts.yaml_text import Checker, load_yaml

INTENTS_VERSION = 1
OUTCOME = "the intents were not used"
GIB = 1024**3


@dataclass(frozen=True)
class Intent:
    """The base of every action: an optional note, and "seen" = it covers some change."""

    action: ClassVar[str] = ""
    note: str | None = dataclasses.field(default=None, kw_only=True)

    def covers(self, change: Change, rules: DiffRules) -> bool:
        raise NotImplementedError

    def seen(self, changes: Sequence[Change], rules: DiffRules) -> bool:
        return any(self.covers(change, rules) for change in changes)

    def to_dict(self) -> dict[str, Any]:
        fields = {name: _plain(value) for name, value in vars(self).items() if value is not None}
        return {"action": self.action, **fields}


def _plain(value: Any) -> Any:
    """64.0 GB is written 64: the form a person wrote, and one canonical JSON for both."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _named(change: Change, path: str, kind: str, name: str) -> bool:
    """A change of PATH of KIND whose key ends with NAME (packages are (manager, name))."""
    return change.path == path and change.kind == kind and change.key[-1:] == (name,)


def _after(change: Change, field: str) -> Any:
    return change.after.get(field) if isinstance(change.after, dict) else change.after


@dataclass(frozen=True)
class ReplaceDisk(Intent):
    """The disk with serial SERIAL out, the one with serial BY in: seen when both happened."""

    action: ClassVar[str] = "replace_disk"
    serial: str
    by: str

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return change.path == "disks" and change.key in (
            ("serial", self.serial),
            ("serial", self.by),
        )

    def seen(self, changes: Sequence[Change], rules: DiffRules) -> bool:
        disks = {(c.kind, c.key) for c in changes if c.path == "disks"}
        return {("removed", ("serial", self.serial)), ("added", ("serial", self.by))} <= disks


@dataclass(frozen=True)
class SetMemory(Intent):
    """Memory to TOTAL_GB (GiB, as the modules add up); the kernel's MemTotal reads a few
    percent under, so the tolerance `memory_intent_percent` of the rules applies."""

    action: ClassVar[str] = "set_memory"
    total_gb: float

    def covers(self, change: Change, rules: DiffRules) -> bool:
        if change.path != "memory_total_bytes" or not isinstance(change.after, int):
            return False
        target = self.total_gb * GIB
        tolerance = target * rules.tolerances["memory_intent_percent"] / 100
        return abs(change.after - target) <= tolerance


@dataclass(frozen=True)
class UpgradePackage(Intent):
    """Package NAME's version changed (to VERSION exactly, when given). Which way is not
    judged: version order is the package manager's own."""

    action: ClassVar[str] = "upgrade_package"
    name: str
    version: str | None = None

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return _named(change, "packages", "changed", self.name) and (
            self.version is None or change.after == self.version
        )


@dataclass(frozen=True)
class InstallPackage(Intent):
    action: ClassVar[str] = "install_package"
    name: str
    version: str | None = None

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return _named(change, "packages", "added", self.name) and (
            self.version is None or _after(change, "version") == self.version
        )


@dataclass(frozen=True)
class RemovePackage(Intent):
    action: ClassVar[str] = "remove_package"
    name: str

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return _named(change, "packages", "removed", self.name)


@dataclass(frozen=True)
class Reinstall(Intent):
    """A new OS on the machine: its machine-id and SSH host keys may change."""

    action: ClassVar[str] = "reinstall"

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return change.path in {"identity.machine_id", "ssh_host_keys"}


@dataclass(frozen=True)
class Reboot(Intent):
    action: ClassVar[str] = "reboot"

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return change.path == "identity.boot_time"


@dataclass(frozen=True)
class AddAddress(Intent):
    """ADDRESS appears (on INTERFACE, by name or MAC, when given)."""

    action: ClassVar[str] = "add_address"
    address: str
    interface: str | None = None

    def covers(self, change: Change, rules: DiffRules) -> bool:
        on = (_after(change, "interface"), _after(change, "interface_name"))
        return _named(change, "addresses", "added", self.address) and (
            self.interface is None or self.interface in on
        )


@dataclass(frozen=True)
class RemoveAddress(Intent):
    action: ClassVar[str] = "remove_address"
    address: str

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return _named(change, "addresses", "removed", self.address)


@dataclass(frozen=True)
class StopService(Intent):
    """Service NAME stopped on purpose: it ran before and does not after."""

    action: ClassVar[str] = "stop_service"
    name: str

    def covers(self, change: Change, rules: DiffRules) -> bool:
        return (
            change.path == "services"
            and change.key == (self.name,)
            and (change.rule == "services.stopped")
        )


ACTIONS: Mapping[str, type[Intent]] = {
    kind.action: kind
    for kind in (ReplaceDisk, SetMemory, UpgradePackage, InstallPackage, RemovePackage,
                 Reinstall, Reboot, AddAddress, RemoveAddress, StopService)
}  # fmt: skip


@dataclass(frozen=True)
class Intents:
    """The intents of one maintenance, in the order written; `source` names where they came
    from (a file, a ticket)."""

    items: tuple[Intent, ...]
    source: str = ""


def intents_from_yaml(text: str, source: str) -> Intents:
    """Intents from the YAML TEXT of the file named SOURCE; InputError when malformed."""
    return intents_from_dict(load_yaml(text, source, OUTCOME), source)


def intents_from_dict(data: Any, source: str) -> Intents:
    """Intents from plain data: `{"version": 1, "intents": [{"action": ...}, ...]}`."""
    check = Checker(source)
    top = check.mapping(data, "", {"version", "intents"})
    if not isinstance(data, dict):
        check.check(OUTCOME)
    if str(top.get("version")) != str(INTENTS_VERSION):
        check.problem("version", f"expected {INTENTS_VERSION}, got {top.get('version')!r}")
    entries = check.items(top.get("intents"), "intents")
    items = [_intent(check, entry, f"intents[{index}]") for index, entry in enumerate(entries)]
    check.check(OUTCOME)
    return Intents(tuple(item for item in items if item is not None), source)


def _intent(check: Checker, data: Any, where: str) -> Intent | None:
    entry = check.mapping(data, where)
    kind = ACTIONS.get(str(entry.get("action")))
    if kind is None:
        if entry:
            check.choice(entry.get("action"), f"{where}.action", tuple(ACTIONS))
        return None
    fields = {item.name: item for item in dataclasses.fields(kind)}
    check.mapping(entry, where, {"action", *fields})
    problems = len(check.problems)
    read = {name: _value(check, kind, name, entry, f"{where}.{name}") for name in fields}
    values = {name: value for name, value in read.items() if value is not None}
    return kind(**values) if len(check.problems) == problems and _complete(kind, values) else None


def _complete(kind: type[Intent], values: Mapping[str, Any]) -> bool:
    required = {
        item.name
        for item in dataclasses.fields(kind)
        if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
    }
    return required <= set(values)


def _value(
    check: Checker, kind: type[Intent], name: str, entry: Mapping[str, Any], where: str
) -> Any:
    field = next(item for item in dataclasses.fields(kind) if item.name == name)
    required = field.default is dataclasses.MISSING
    if name not in entry:
        if required:
            check.problem(where, "missing")
        return None
    if name == "total_gb":
        return check.number(entry[name], where, minimum=0.001)
    text = check.text(entry[name], where)
    if text is not None and name == "address":
        return _address(check, text, where)
    return text


def _address(check: Checker, text: str, where: str) -> str | None:
    """An address as the facts hold it ("10.0.0.12", "fe80::1"); "10.0.0.12/24" is refused
    rather than guessed."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        check.problem(where, f"not an IP address: {text!r}")
        return None


def intents_to_dict(intents: Intents) -> dict[str, Any]:
    """The plain form a ticket stores; `intents_from_dict` reads it back equal."""
    return {"version": INTENTS_VERSION, "intents": [item.to_dict() for item in intents.items]}
