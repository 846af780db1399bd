"""The SOP a ticket walks: the one it was opened under (`ticket new --sop NAME`), found by
its name among the packaged SOP and the files of `<config dir>/sops/`.

A ticket keeps its SOP's name and revision (`sop_name`, `sop_revision`), never a copy of the
steps: `show`, `advance` and `list` read the SOP by name each time. So a data center's own
SOP (*Penarikan Server dari Data Center*, *Permohonan Colocation*) walks without code: the
gates are per evidence kind, whichever step names it. Two things can go wrong, and each is
said, never guessed around:

- the file is gone (or renamed, or broken): a `ConfigurationError` (status 2) naming the
  ticket, the SOP and its revision, the problems of a broken file, and where to put the
  file back;
- the file's revision is not the one the ticket was opened under: a warning, once per SOP
  and command, since its steps may have moved (the ticket is shown and advanced by the
  revision there is).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pelihara.core.errors import ConfigurationError, InputError, NotFoundError
from pelihara.maintenance.models import Ticket
from pelihara.maintenance.sop import Sop
from pelihara.maintenance.sop_file import PACKAGED, SOPS_DIR, catalogue, find_sop, packaged_sop

Warn = Callable[[str], None]
SopOf = Callable[[str], Sop]  # an SOP by its name, for a ticket's `sop_name`
TicketSop = Callable[[Ticket], Sop]  # a ticket's own SOP


def cached_sops(find: SopOf) -> SopOf:
    """FIND, asked once per SOP name (reading an SOP file is not free)."""
    known: dict[str, Sop] = {}

    def sop_of(name: str) -> Sop:
        if name not in known:
            known[name] = find(name)
        return known[name]

    return sop_of


def sops_by_name(config_dir: Path) -> SopOf:
    """The packaged SOP and those of CONFIG_DIR's sops/, by name, each read once."""
    return cached_sops(lambda name: sop_named(name, config_dir))


def sop_named(name: str, config_dir: Path) -> Sop:
    """The SOP NAME: the packaged one without reading the sops/ directory, else its file
    there (`NotFoundError` naming the SOPs there are; `InputError` when the file is broken)."""
    return packaged_sop() if name == PACKAGED else find_sop(name, config_dir)


def revision_warning(ticket: Ticket, sop: Sop) -> str | None:
    """What to tell when SOP's revision is not the one TICKET was opened under."""
    if sop.revision == ticket.sop_revision:
        return None
    return (f"ticket {ticket.reference} was opened under SOP {sop.name} revision "
            f"{ticket.sop_revision}; its file is now revision {sop.revision}: the ticket is "
            "shown and advanced by the steps of revision " + sop.revision)  # fmt: skip


def _gone(ticket: Ticket, config_dir: Path, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"ticket {ticket.reference} walks SOP {ticket.sop_name!r} (revision "
        f"{ticket.sop_revision}), which cannot be read: {why}. Put its file back in "
        f"{config_dir / SOPS_DIR} (`pelihara sop list` shows the SOPs there are)"
    )


def _not_found(config_dir: Path) -> str:
    """No SOP of that name: and the broken files, since the SOP may be one of them (a
    broken file's SOP name is not known)."""
    broken = [entry.problems[0] for entry in catalogue(config_dir) if entry.problems]
    if not broken:
        return "no file of that name"
    return "no file of that name, but a broken file may be it: " + "; ".join(map(str, broken))


def ticket_sops(config_dir: Path, warn: Warn) -> TicketSop:
    """A function giving each ticket its SOP, each SOP read once (per name) for the life of
    the function: one command. WARN is told once per SOP whose revision differs."""
    read = sops_by_name(config_dir)
    warned: set[tuple[str, str]] = set()

    def sop_of(ticket: Ticket) -> Sop:
        try:
            sop = read(ticket.sop_name)
        except NotFoundError as exc:
            raise _gone(ticket, config_dir, _not_found(config_dir)) from exc
        except InputError as exc:
            raise _gone(ticket, config_dir, "; ".join(map(str, exc.shown))) from exc
        told = revision_warning(ticket, sop)
        if told and (sop.name, ticket.sop_revision) not in warned:
            warned.add((sop.name, ticket.sop_revision))
            warn(told)
        return sop

    return sop_of
