"""Reading SOP files: the packaged one, and those a data center puts in `<config dir>/sops/`.

A file is composed into YAML nodes first (anchors and aliases refused, as for the inventory)
so that every value keeps its line; pydantic then checks the values, and each of its errors
becomes one `Problem` naming the file, the line, the step and the field, in our words:

    sops/colocation.yaml:42 [step 3 evidence]: unknown evidence kind 'foto'; use one of ...

A configured file may not take the packaged SOP's name: the ticket's gates are code written
for that SOP's steps, so a file that replaced it could move a gate under a different step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, SequenceNode

from pelihara.core.errors import InputError, NotFoundError, Problem
from pelihara.inventory.yaml_reader import compose
from pelihara.maintenance.sop import Sop, Step, Text

PACKAGED = "pemeliharaan-server"  # the SOP the tickets walk
SOPS_DIR = "sops"  # in the configuration directory, and in this package
OUTCOME = "the SOP file was not used"

Path_ = tuple[str | int, ...]


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _lines(node: Node | None, path: Path_ = ()) -> Iterator[tuple[Path_, int]]:
    """(path, line) of every value of the tree: a key's line for a mapping's values."""
    if node is None:
        return
    yield path, _line(node)
    if isinstance(node, MappingNode):
        for key, value in node.value:
            name = str(key.value)
            yield (*path, name), _line(key)
            for inner, line in _lines(value, (*path, name)):
                if inner != (*path, name):
                    yield inner, line
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _lines(item, (*path, index))


@dataclass
class _Located:
    """The file's values and where each one stands."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, loc: Path_) -> int:
        """The line of LOC, or of the nearest enclosing value that has one."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 0

    def field_name(self, loc: Path_) -> str:
        """`step 3 evidence`, `title.en`, `legal_basis[2]`: LOC as a reader names it."""
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            rest = ".".join(str(part) for part in loc[2:] if not isinstance(part, int))
            return f"step {self._step_label(loc[1])}{' ' + rest if rest else ''}"
        parts = [f"[{p + 1}]" if isinstance(p, int) else f".{p}" for p in loc]
        return "".join(parts).lstrip(".")

    def _step_label(self, index: int) -> str:
        """The number the step gives itself, else its place in the list."""
        steps = self.data.get("steps") if isinstance(self.data, dict) else None
        item = steps[index] if isinstance(steps, list) and index < len(steps) else None
        number = item.get("number") if isinstance(item, dict) else None
        return str(number) if isinstance(number, int) and not isinstance(number, bool) else (
            f"{index + 1} (in the list)"
        )  # fmt: skip


_EXPECTED = {
    "int": "a whole number",
    "string": "a text",
    "date": "a date (2023-06-19, unquoted)",
    "tuple": "a list",
    "list": "a list",
    "model": "a mapping of field: value",
    "dict": "a mapping of field: value",
    "bool": "true or false",
}


def _said(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else repr(value)


def _message(error: ErrorDetails) -> str:
    """ERROR in our words; our own validators' messages as they are."""
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx", {})
    if kind.startswith("sop_"):
        return str(error["msg"])
    if kind == "missing":
        return "missing; this field is required"
    if kind == "extra_forbidden":
        return f"unknown field {loc[-1]!r}; the fields here: {', '.join(_fields(loc[:-1]))}"
    return _value_message(kind, error["input"], ctx)


def _value_message(kind: str, value: Any, ctx: dict[str, Any]) -> str:
    """A value of the wrong type or size, in our words."""
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "at least" if kind == "greater_than_equal" else "at most"
        return f"{_said(value)}: must be {bound} {ctx.get('ge', ctx.get('le'))}"
    if kind == "too_short":
        return "is empty; at least one is needed"
    base = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_attributes")
    if base in _EXPECTED:
        return f"expected {_EXPECTED[base]}, not {_said(value)}"
    return f"{_said(value)}: not accepted ({kind})"


def _fields(loc: Path_) -> list[str]:
    """The fields the file may write at LOC (the mapping that holds an unknown field)."""
    model: type[BaseModel] = Sop
    if loc and loc[-1] in ("title", "name", "warning"):
        model = Text
    elif len(loc) == 2 and loc[0] == "steps":
        model = Step
    return [info.alias or name for name, info in model.model_fields.items()]


def _problems(located: _Located, exc: ValidationError) -> list[Problem]:
    found = []
    for error in exc.errors(include_url=False):
        loc: Path_ = tuple(error["loc"])
        index = error.get("ctx", {}).get("index")
        if error["type"] == "sop_numbering" and isinstance(index, int):
            loc = (*loc, index, "number")
        loc = tuple(_file_name(part) for part in loc)
        found.append(Problem(
            located.file, located.line(loc), located.field_name(loc), _message(error)
        ))  # fmt: skip
    return found


def _file_name(part: str | int) -> str | int:
    """A model's field as the file spells it (`schema_` is `schema`, `with_` is `with`)."""
    return part.removesuffix("_") if isinstance(part, str) else part


def parse_sop(file: str, text: str) -> Sop:
    """The SOP in TEXT (the content of FILE, named in the problems); an `InputError` with
    every problem found, each naming the file, line, step and field."""
    node = compose(file, text)
    if node is None:
        raise InputError([Problem(file, 0, "", "empty; an SOP file is a mapping")], OUTCOME)
    data = yaml.SafeLoader("").construct_document(node)
    located = _Located(file, data, dict(_lines(node)))
    if not isinstance(data, dict):
        raise InputError([Problem(file, 1, "", "an SOP file is a mapping of field: value")],
                         OUTCOME)  # fmt: skip
    try:
        return Sop.model_validate(data)
    except ValidationError as exc:
        raise InputError(_problems(located, exc), OUTCOME) from None


def read_sop(path: Path, shown: str | None = None) -> Sop:
    """The SOP of the file PATH (named SHOWN in the problems, default PATH itself)."""
    name = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, 0, "", f"not UTF-8 text (byte {exc.start})")],
                         OUTCOME) from None  # fmt: skip
    except OSError as exc:
        raise InputError([Problem(name, 0, "", f"cannot be read: {exc.strerror}")],
                         OUTCOME) from None  # fmt: skip
    return parse_sop(name, text)


def packaged_sop() -> Sop:
    """The SOP Pemeliharaan Server shipped with pelihara: the one the tickets walk."""
    text = files("pelihara.maintenance").joinpath(SOPS_DIR, f"{PACKAGED}.yaml")
    return parse_sop(f"(packaged) {PACKAGED}.yaml", text.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Entry:
    """One SOP file found: its SOP, or the problems that keep it from being used."""

    source: str
    sop: Sop | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def name(self) -> str:
        return self.sop.name if self.sop else Path(self.source).stem


def _configured(directory: Path) -> list[Entry]:
    entries = []
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        try:
            entries.append(Entry(str(path), read_sop(path)))
        except InputError as exc:
            entries.append(Entry(str(path), problems=tuple(exc.problems)))
    return entries


def _clashes(entries: list[Entry]) -> list[Entry]:
    """ENTRIES, the second and later files of a name made broken, naming the first."""
    first: dict[str, str] = {}
    kept = []
    for entry in entries:
        if entry.sop is not None and entry.name in first:
            why = (
                "the packaged SOP's name; a configured file cannot replace it (its gates are "
                "code): give this SOP a name of its own"
                if entry.name == PACKAGED
                else f"also the name of {first[entry.name]}; each SOP needs a name of its own"
            )
            problem = Problem(entry.source, 0, "name", f"{entry.name!r} is {why}")
            kept.append(Entry(entry.source, problems=(problem,)))
            continue
        if entry.sop is not None:
            first[entry.name] = entry.source
        kept.append(entry)
    return kept


def catalogue(config_dir: Path) -> list[Entry]:
    """Every SOP: the packaged one first, then each `*.yaml` of CONFIG_DIR/sops/ by file
    name; a broken file is an entry with its problems, never a reason to hide the others."""
    packaged = Entry(f"(packaged) {PACKAGED}.yaml", packaged_sop())
    return _clashes([packaged, *_configured(config_dir / SOPS_DIR)])


def find_sop(name: str, config_dir: Path) -> Sop:
    """The SOP NAME; a `NotFoundError` naming the SOPs there are, an `InputError` with the
    problems of its file when that file is broken."""
    entries = catalogue(config_dir)
    for entry in entries:
        if entry.name == name and entry.sop is not None:
            return entry.sop
    broken = [entry for entry in entries if entry.name == name]
    if broken:
        raise InputError(list(broken[0].problems), OUTCOME)
    known = ", ".join(entry.name for entry in entries if entry.sop is not None)
    raise NotFoundError(f"no SOP named {name!r}; there are: {known} (`pelihara sop list`)")
