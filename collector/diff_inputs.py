"""The files of a snapshot diff: the packaged default rules, a `--rules FILE`, an `--intent
FILE`. Read here because `pelihara.facts` does no I/O: it parses the text it is given.

>>> default_rules().source
'pelihara/facts/diff_rules.yaml'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from pelihara.core.errors import InputError, Problem
from pelihara.facts.diff_rules import DiffRules, rules_from_yaml
from pelihara.facts.intents import Intents, intents_from_yaml

DEFAULT_RULES = "diff_rules.yaml"  # beside pelihara/facts/diff_rules.py, in the wheel


def default_rules_text() -> str:
    """The packaged rules file as text: what `--rules` replaces, and a start for a copy."""
    return files("pelihara.facts").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")


def default_rules() -> DiffRules:
    return rules_from_yaml(default_rules_text(), f"pelihara/facts/{DEFAULT_RULES}")


def _read(path: Path, outcome: str) -> str:
    """PATH's text; a file that cannot be read is an InputError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError([Problem(str(path), 0, "", f"cannot read: {reason}")], outcome) from None


def rules_from_file(path: Path) -> DiffRules:
    """The rules of `--rules FILE`, replacing the defaults for one run."""
    return rules_from_yaml(_read(path, "the rules were not used"), str(path))


def intents_from_file(path: Path) -> Intents:
    """The intents of `--intent FILE`."""
    return intents_from_yaml(_read(path, "the intents were not used"), str(path))
