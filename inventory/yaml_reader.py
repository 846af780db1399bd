"""Reading an inventory YAML file: a list of servers (or a mapping with `servers:`), each a
mapping of column: value.

The file is composed into YAML nodes, never constructed into Python objects: every value is
the text the user wrote (`status: on` stays `on`, `memory_gb: 1.920` stays `1.920` for the
number rules), and every node keeps its line. Anchors and aliases are refused before any
alias is expanded (a 478-byte "billion laughs" file would expand to millions of characters).
A mapping or a list where one value belongs is refused at that value's line. A server's
`components:` list (mappings of kind, model, serial, slot, status) becomes the table's
components, each with its server's hostname.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pelihara.core.errors import InputError, Problem
from pelihara.inventory.sources import REFUSED, RawRow, Table, component_column, normalise_column

LIST_COLUMNS = frozenset({"ip"})  # the columns whose value may be a list (fields.ip_list)
COMPONENTS = "components"  # a server's list of its parts
_NULL = "tag:yaml.org,2002:null"


class _Refused(yaml.MarkedYAMLError):
    """An anchor or alias, refused where it stands."""


class _NodeLoader(yaml.SafeLoader):
    """Composes nodes with their marks; an anchor (`&name`) or alias (`*name`) is refused."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                problem="aliases (*name) are not accepted; write the value itself",
                problem_mark=cast(Mark, event.start_mark),
            )
        if getattr(event, "anchor", None) is not None:
            raise _Refused(
                problem="anchors (&name) are not accepted; write each value itself",
                problem_mark=cast(Mark, event.start_mark),
            )
        return super().compose_node(parent, index)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _syntax_problem(file: str, exc: yaml.YAMLError) -> Problem:
    """A YAML error as one problem of FILE, at its line (never `<unicode string>`)."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(file, 0, "", f"not valid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    reason = exc.problem or exc.context or "not valid"
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    where = f" at column {mark.column + 1}" if mark is not None else ""
    line = mark.line + 1 if mark is not None else 0
    return Problem(file, line, "", f"not valid YAML: {reason}{context}{where}")


def compose(file: str, text: str) -> Node | None:
    """The document's node tree; a syntax error, an anchor or an alias is an `InputError`."""
    loader = _NodeLoader(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError as exc:
        raise InputError([_syntax_problem(file, exc)]) from None
    finally:
        loader.dispose()


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the value {node.value!r}"


def _servers(file: str, document: Node | None) -> tuple[list[Node], list[Problem]]:
    """The nodes of the servers' list, or the problem that there is none."""
    node = document
    if isinstance(node, MappingNode):
        found = [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == "servers"]
        node = found[0] if found else None
    if isinstance(node, SequenceNode):
        return list(node.value), []
    line = _line(node) if node is not None else 1
    return [], [
        Problem(file, line, "", "expected a list of servers (or a mapping with 'servers:')")
    ]


def _scalar(node: ScalarNode) -> str:
    return "" if node.tag == _NULL else str(node.value).strip()


@dataclass
class _Item:
    """One server's mapping, read: its cells and the problems of its structure."""

    file: str
    line: int
    cells: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    parts: list[RawRow] = field(default_factory=list)

    def problem(self, line: int, column: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, column, message))

    def add(self, key: Node, value: Node) -> None:
        if not isinstance(key, ScalarNode):
            self.problem(_line(key), "", f"{_kind(key)} where a column name belongs")
            return
        column = normalise_column(str(key.value))
        if column in self.lines:
            self.problem(
                _line(key), column, f"column appears twice (also on line {self.lines[column]})"
            )
            return
        self.lines[column] = _line(key)
        if column == COMPONENTS:
            self._components(value)
            return
        cell = self._cell(column, value)
        self.cells[column] = REFUSED if cell is None else cell

    def _cell(self, column: str, value: Node) -> str | None:
        if isinstance(value, ScalarNode):
            return _scalar(value)
        if isinstance(value, SequenceNode) and column in LIST_COLUMNS:
            if all(isinstance(item, ScalarNode) for item in value.value):
                return " ".join(_scalar(item) for item in value.value)
            self.problem(_line(value), column, "a list of single values is expected here")
            return None
        self.problem(
            _line(value),
            column,
            f"{_kind(value)} where one value belongs; write the value itself (`column: value`)",
        )
        return None

    def _components(self, value: Node) -> None:
        """The server's parts: a list of mappings, each a row of the components table."""
        if isinstance(value, ScalarNode) and value.tag == _NULL:
            return
        if not isinstance(value, SequenceNode):
            self.problem(_line(value), COMPONENTS, f"{_kind(value)} where a list of components "
                         "belongs (`- kind: disk`, `serial: ...`)")  # fmt: skip
            return
        for position, node in enumerate(value.value, start=1):
            if isinstance(node, MappingNode):
                self.parts.append(RawRow(_line(node), self._part(node)))
            else:
                message = f"component {position} is {_kind(node)}, not a mapping of column: value"
                self.problem(_line(node), COMPONENTS, message)

    def _part(self, node: MappingNode) -> dict[str, str]:
        cells: dict[str, str] = {}
        for key, value in node.value:
            column = component_column(str(key.value)) if isinstance(key, ScalarNode) else None
            if not column or column == "hostname":
                where = f"{_kind(key)}" if column is None else "hostname"
                self.problem(_line(key), COMPONENTS, f"{where}: not a component column here "
                             "(its server is the one it is listed under)")  # fmt: skip
            elif column in cells:
                self.problem(_line(key), column, "column appears twice")
            elif isinstance(value, ScalarNode):
                cells[column] = _scalar(value)
            else:
                self.problem(_line(value), column, f"{_kind(value)} where one value belongs")
        return cells


def _item(file: str, node: Node, position: int) -> _Item:
    item = _Item(file, _line(node))
    if not isinstance(node, MappingNode):
        item.problem(
            item.line, "", f"server {position} is {_kind(node)}, not a mapping of column: value"
        )
        return item
    for key, value in node.value:
        item.add(key, value)
    return item


def read_yaml_text(file: str, text: str) -> Table:
    """The servers of the YAML TEXT of FILE as a table (no header: `header_line` 0); the
    problems of its structure go into `table.problems`, all of them."""
    nodes, problems = _servers(file, compose(file, text))
    table = Table(file, [], header_line=0, problems=problems)
    parts = Table(file, [], header_line=0)
    seen: dict[str, None] = {}
    for position, node in enumerate(nodes, start=1):
        item = _item(file, node, position)
        table.problems += item.problems
        if isinstance(node, MappingNode):
            table.rows.append(RawRow(item.line, item.cells))
            seen.update(dict.fromkeys(item.cells))
            hostname = item.cells.get("hostname", "")
            if hostname not in ("", REFUSED):  # else the server's own problem says it
                parts.rows += [RawRow(p.line, {"hostname": hostname, **p.cells})
                               for p in item.parts]  # fmt: skip
    table.columns = list(seen)
    if parts.rows:
        table.components = parts
    return table
