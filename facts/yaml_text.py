"""YAML text to plain data for the diff's rules and intents: every scalar stays the text the
user wrote, and a problem names the file, the line and the field.

Scalars are never typed by YAML's guesses: a serial `00123` stays `00123`, a version `1.10`
stays `1.10` (safe_load would give 123 and 1.1), `on` stays `on`. The readers of the rules
and intents turn text into numbers where a number belongs. Anchors and aliases are refused
(a few hundred bytes of aliases expand to millions of nodes).

PyYAML is imported by the function, not the module: importing `pelihara.facts` loads no
parser (the agent ships facts/ without PyYAML, and never reads a rules file).

>>> load_yaml("memory_gb: 64\\nserial: 00123\\n", "intent.yaml")   # doctest: +SKIP
{'memory_gb': '64', 'serial': '00123'}
"""

from __future__ import annotations

import math
from typing import Any

from pelihara.core.errors import InputError, Problem


def load_yaml(text: str, source: str, outcome: str) -> Any:
    """The one document of TEXT as dicts, lists and str (None for an empty document).

    A syntax error, an anchor or an alias is an InputError naming SOURCE and the line;
    OUTCOME says what was not done ("the rules were not used").
    """
    import yaml

    loader = _loader_class(yaml)(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise InputError([_syntax_problem(source, exc)], outcome) from None
    finally:
        loader.dispose()


def _loader_class(yaml: Any) -> Any:
    """BaseLoader (every scalar is text) that refuses anchors and aliases where they stand."""

    class TextLoader(yaml.BaseLoader):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise yaml.MarkedYAMLError(
                    problem="anchors (&name) and aliases (*name) are not accepted",
                    problem_mark=event.start_mark,
                )
            return super().compose_node(parent, index)

    return TextLoader


def _syntax_problem(source: str, exc: Any) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    reason = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    line = int(mark.line) + 1 if mark is not None else 0
    return Problem(source, line, "", f"not valid YAML: {reason}")


class Checker:
    """Reads plain data field by field, collecting every problem before refusing the whole.

    A field is named by its path (`changes.disks.added.severity`), so the user finds it
    without a line number; values from YAML are text, values from a ticket's JSON may be
    numbers, and both are read the same.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.source, 0, where, message))

    def mapping(self, value: Any, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
        """VALUE as a mapping ({} and a problem if it is not one); unknown keys are problems."""
        if not isinstance(value, dict):
            self.problem(where, f"expected a mapping, got {_kind(value)}")
            return {}
        known = ", ".join(sorted(allowed or ()))
        for name in sorted(set(value) - (allowed if allowed is not None else set(value))):
            self.problem(_join(where, name), f"unknown field (known: {known})")
        return value

    def items(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.problem(where, f"expected a list, got {_kind(value)}")
            return []
        return value

    def text(self, value: Any, where: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.problem(where, f"expected a text value, got {_kind(value)}")
        return None

    def number(self, value: Any, where: str, minimum: float = 0.0) -> float | None:
        """A number from int, float or decimal text, at least MINIMUM."""
        try:
            number = float(str(value)) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or math.isnan(number) or number < minimum:
            self.problem(where, f"expected a number >= {minimum:g}, got {value!r}")
            return None
        return number

    def choice(self, value: Any, where: str, allowed: tuple[str, ...]) -> str | None:
        if value in allowed:
            return str(value)
        self.problem(where, f"expected one of {', '.join(allowed)}, got {value!r}")
        return None

    def check(self, outcome: str) -> None:
        """Raise an InputError with every problem found, if any."""
        if self.problems:
            raise InputError(self.problems, outcome)


def _join(where: str, name: object) -> str:
    return f"{where}.{name}" if where else str(name)


def _kind(value: Any) -> str:
    if value is None or value == "":
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else repr(value)
