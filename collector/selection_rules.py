"""Which of the chosen servers a command looks at: withdrawn servers (taken out of the data
center) are left out unless asked for. Shared by the ORM's choice (`selection`) and
`verify`'s (`verify_rows`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pelihara.collector.probes.base import Target
from pelihara.core.errors import ConfigurationError
from pelihara.inventory.statuses import ServerStatus

S = TypeVar("S")


@dataclass(frozen=True)
class Selection(Generic[S]):
    """The servers a command looks at, and the withdrawn ones it left out (by hostname)."""

    servers: list[S]
    withdrawn: list[str] = field(default_factory=list)


def without_withdrawn(
    servers: Sequence[S], include_withdrawn: bool, named: Callable[[S], tuple[str, str]]
) -> Selection[S]:
    """SERVERS less the withdrawn ones, unless INCLUDE_WITHDRAWN; NAMED gives a server's
    hostname and status."""
    gone = {id(s) for s in servers if named(s)[1] == ServerStatus.WITHDRAWN.value}
    withdrawn = [named(s)[0] for s in servers if id(s) in gone]
    if include_withdrawn or not withdrawn:
        return Selection(list(servers))
    kept = [s for s in servers if id(s) not in gone]
    if not kept:
        raise ConfigurationError(
            f"no server to look at: {names(withdrawn)} withdrawn (--include-withdrawn "
            "looks at withdrawn servers too)"
        )
    return Selection(kept, withdrawn)


def names(hostnames: list[str], most: int = 5) -> str:
    """`a, b and 3 more` is/are: hostnames for a message, at most MOST of them."""
    shown = ", ".join(hostnames[:most])
    more = f" and {len(hostnames) - most} more" if len(hostnames) > most else ""
    return f"{shown}{more} {'is' if len(hostnames) == 1 else 'are'}"


def refuse_other_machines(targets: list[Target]) -> None:
    """`--probe local` reads the machine pelihara runs on: a server that is another one would
    be compared with this machine's facts, and every difference blamed on it."""
    from pelihara.collector.probes.local import is_this_machine, this_machine_name

    others = [target.hostname for target in targets if not is_this_machine(target)]
    if others:
        raise ConfigurationError(
            f"--probe local reads this machine ({this_machine_name()}) only, and "
            f"{names(others)} another server: verify it with --probe ssh,snmp,dns"
        )
