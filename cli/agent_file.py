"""`python3 pelihara-agent.pyz`: the entry of the agent's single file (`pelihara agent package`).

The file's command is a group of three: `facts` and `run` of `pelihara agent` and `spool` of
`pelihara tsdb` (what waits in the server's spool), the same command objects with the same
options, under pelihara's error handling. Its only outside need is psutil, which the
server's distribution provides.
"""

from __future__ import annotations

import importlib
import sys

import click

from pelihara.cli.agent import agent
from pelihara.cli.main import PeliharaGroup
from pelihara.cli.output import error
from pelihara.cli.tsdb import spool
from pelihara.core.errors import ExitCode

COMMANDS = ("facts", "run")
PSUTIL_HINT = "apt-get install python3-psutil (Debian, Ubuntu)"


class AgentFileGroup(PeliharaGroup):
    """pelihara's error handling over this group's own commands, without the other groups."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name)


@click.group(
    cls=AgentFileGroup,
    commands=[*(agent.commands[name] for name in COMMANDS), spool],
    context_settings={"help_option_names": ["-h", "--help"]},
)
def agent_file() -> None:
    """pelihara's agent as one file: this server's facts, and its health samples sent to the
    time-series store (the embedded one, or victoriametrics://).

    \b
      python3 pelihara-agent.pyz facts
      python3 pelihara-agent.pyz facts --format json > facts.json
      python3 pelihara-agent.pyz run --once
      python3 pelihara-agent.pyz run --tsdb victoriametrics://tsdb.dc.example:8428
      python3 pelihara-agent.pyz spool          # what waits to be sent, what was refused

    Needs python3 >= 3.11 and psutil: apt-get install python3-psutil. As a service:
    examples/pelihara-agent-pyz.service. Built by `pelihara agent package`.
    """


def main() -> None:
    """Run the group, once psutil is known to be there (else one line, exit status 2)."""
    try:
        importlib.import_module("psutil")
    except ImportError as exc:
        error(f"the agent needs psutil, which this python3 cannot import ({exc}): {PSUTIL_HINT}")
        sys.exit(ExitCode.USAGE)
    agent_file.main()
