"""`pelihara audit verify` as one report: the chain and its MACs, the heads recorded earlier,
the append-only triggers and (asked for) the inventory's rows against the log.

    >>> report = check(session, load_key(), expect=[parse_head("12:5f0c...")], state=True)
    >>> report.ok, report.problems()                      # doctest: +SKIP
    (False, ['trigger audit_log_no_update is missing'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pelihara.inventory import audit
from pelihara.inventory.audit_guards import guard_problems
from pelihara.inventory.audit_key import AuditKey
from pelihara.inventory.audit_state import Difference, state_differences
from pelihara.inventory.locking import read_snapshot

NO_KEY = "MACs not checked: no key"


@dataclass(frozen=True)
class AuditReport:
    """Everything `audit verify` found; `ok` when nothing is wrong.

    In `as_dict()`, `checked` counts the entries found intact (all of them, unless the chain
    is broken), `head` is the log's latest entry as `SEQ:HASH` (None when the chain is broken)."""

    chain: audit.ChainReport
    triggers: tuple[str, ...]
    state: tuple[Difference, ...] | None  # None: not asked for

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.triggers and not self.state

    def problems(self) -> list[str]:
        """One line for each thing wrong, in the order: chain, heads, triggers, rows."""
        chain = self.chain
        lines = []
        if chain.broken_seq is not None:
            lines.append(f"audit log broken at entry {chain.broken_seq}: {chain.reason}")
        lines += [f"expected head {e.head}: {e.reason}" for e in chain.expectations if not e.ok]
        lines += [f"append-only guard: {problem} (`pelihara init` restores it)"
                  for problem in self.triggers]  # fmt: skip
        lines += [str(difference) for difference in self.state or ()]
        return lines

    def notes(self) -> list[str]:
        """What was and was not checked, for a reader who must know how far to trust it."""
        chain = self.chain
        notes = [] if chain.macs_checked else [f"{NO_KEY}; hash chain only"]
        if chain.unsigned:
            notes.append(f"entries 1-{chain.unsigned} have no MAC: written before MACs "
                         "existed (their hashes are checked)")  # fmt: skip
        notes += [f"expected head {e.head}: {e.reason}" for e in chain.expectations if e.ok]
        return notes

    def as_dict(self) -> dict[str, Any]:
        chain = self.chain
        return {
            "ok": self.ok, "checked": chain.checked,
            "head": str(chain.head) if chain.broken_seq is None else None,
            "chain": {"ok": chain.broken_seq is None, "broken_at": chain.broken_seq,
                      "reason": chain.reason or None},
            "macs": {"checked": chain.macs_checked, "unsigned_entries": chain.unsigned,
                     "note": None if chain.macs_checked else NO_KEY},
            "expect": [{"head": str(e.head), "ok": e.ok, "reason": e.reason}
                       for e in chain.expectations],
            "triggers": {"ok": not self.triggers, "problems": list(self.triggers)},
            "state": None if self.state is None else {
                "ok": not self.state, "differences": [d.as_dict() for d in self.state]},
            "problems": self.problems(),
        }  # fmt: skip


def check(
    session: Session,
    key: AuditKey | None,
    expect: Iterable[audit.Head] = (),
    state: bool = False,
) -> AuditReport:
    """The log in SESSION checked, on one snapshot: with KEY its MACs too, with STATE the rows."""
    read_snapshot(session)
    chain = audit.verify(session, key, expect)
    triggers = tuple(guard_problems(session.connection()))
    differences = tuple(state_differences(session)) if state else None
    return AuditReport(chain, triggers, differences)
