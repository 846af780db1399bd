"""Who signs the *Berita Acara*: the one who made it, the Kepala Bidang who received it, the
Kepala Dinas who reviewed it; names and NIPs from the ticket's steps where they are done,
else from the configured people.

A step recorded on behalf of an official (`--on-behalf-of`) is signed by that official:
they signed the paper. A role nobody holds in pelihara.toml leaves the name blank, to be
written by hand; never a made-up name.
"""

from __future__ import annotations

from typing import Any

from pelihara.maintenance.models import Ticket, TicketStep
from pelihara.maintenance.people import People

# (block, the steps whose doer signs it, first found; the role configured otherwise)
BLOCKS = (("made_by", (9, 7), "tim_data_center"),
          ("received_by", (10,), "kepala_bidang"),
          ("reviewed_by", (11,), "kepala_dinas"))  # fmt: skip


def signatures(ticket: Ticket, people: People) -> list[dict[str, Any]]:
    """The three signature blocks: `{block, role, name, nip, position}` (name None: blank)."""
    done = {step.step: step for step in ticket.steps}
    return [_block(block, steps, role, done, people) for block, steps, role in BLOCKS]


def _block(
    block: str, steps: tuple[int, ...], role: str, done: dict[int, TicketStep], people: People
) -> dict[str, Any]:
    signer = next((_signer(done[n]) for n in steps if n in done), None)
    if signer is None:
        holders = people.with_role(role)
        signer = (holders[0].name, holders[0].nip) if holders else (None, None)
    name, nip = signer
    key = nip or name
    person = people.find(key) if key else None
    return {"block": block, "role": role, "name": name, "nip": nip,
            "position": person.position if person else None}  # fmt: skip


def _signer(step: TicketStep) -> tuple[str | None, str | None]:
    if step.on_behalf_of_name:
        return step.on_behalf_of_name, step.on_behalf_of_nip
    return step.person_name, step.person_nip
