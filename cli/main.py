"""The `pelihara` command: global options, error handling, and the command groups."""

from __future__ import annotations

import importlib
import logging
import traceback
from types import TracebackType
from typing import Any

import click

from pelihara.cli.app import App, SuggestingGroup
from pelihara.cli.output import error
from pelihara.core.errors import ExitCode, InputError, PeliharaError

# Command groups by name, imported when used: `pelihara agent facts` on a server never loads
# the database libraries, and `--help` stays quick.
LAZY_COMMANDS = {
    "inventory": "pelihara.cli.inventory:inventory",
    "audit": "pelihara.cli.audit:audit",
    "agent": "pelihara.cli.agent:agent",
    "verify": "pelihara.cli.verify:verify",
    "collect": "pelihara.cli.collect:collect",
    "snapshot": "pelihara.cli.snapshot:snapshot",
    "sop": "pelihara.cli.sop:sop",
    "tsdb": "pelihara.cli.tsdb:tsdb",
    "people": "pelihara.cli.people:people",
    "ticket": "pelihara.cli.ticket:ticket",
    "report": "pelihara.cli.report:report",
    "announce": "pelihara.cli.announce:announce",
    "form": "pelihara.cli.form:form",
}


# paramiko logs a failed session at ERROR, with its traceback; the SSH probe reports the same
# failure as a finding. Without a handler of its own Python would print it on stderr.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class PeliharaGroup(SuggestingGroup):
    """Turns pelihara's errors into a clear message and their exit status, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, _, attribute = LAZY_COMMANDS[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            _traceback_if_asked(ctx)
            for problem in exc.shown:
                error(str(problem))
            if exc.hidden:
                error(f"... and {exc.hidden} more problem{'s' if exc.hidden != 1 else ''}")
            error(str(exc))
            ctx.exit(exc.exit_code)
        except PeliharaError as exc:
            _traceback_if_asked(ctx)
            error(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            error("interrupted")
            ctx.exit(130)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own: usage errors and exits, which click prints and ends
        except Exception as exc:  # the last resort: a bug, in one line and its own status
            shown = _traceback_if_asked(ctx)
            error(unexpected(exc, hint=not shown))
            ctx.exit(ExitCode.SOFTWARE)


def _traceback_if_asked(ctx: click.Context) -> bool:
    """The traceback of the error being handled, on stderr, if `--traceback` was given."""
    if not ctx.params.get("traceback"):
        return False
    click.echo(traceback.format_exc().rstrip(), err=True)
    return True


def _where(tb: TracebackType | None) -> tuple[str, str]:
    """The command that was running (the deepest click context on the stack) and the last
    place in pelihara's own code the failure passed through."""
    command, place = "pelihara", ""
    for frame, line in traceback.walk_tb(tb):
        ctx = frame.f_locals.get("ctx")
        if isinstance(ctx, click.Context):
            command = ctx.command_path
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("pelihara."):
            place = f"{module}.{frame.f_code.co_name}, line {line}"
    return command, place


def unexpected(exc: BaseException, hint: bool = True) -> str:
    """One line for an exception nobody expected: the command, the error, where it was."""
    command, place = _where(exc.__traceback__)
    text = str(exc).strip()
    reason = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    at = f" in {place}" if place else ""
    more = "run it again with --traceback to see the whole trace, and " if hint else ""
    return f"`{command}` failed unexpectedly{at}: {reason} (a bug in pelihara: {more}report it)"


@click.group(cls=PeliharaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="URL",
    envvar="PELIHARA_DB",
    help="Database URL (default: an SQLite file in the data directory; "
    "e.g. postgresql://user@host/db). Also PELIHARA_DB.",
)
@click.option(
    "--actor",
    metavar="NAME",
    envvar="PELIHARA_ACTOR",
    help="Who is making changes, for the audit log (default: the OS user).",
)
@click.option(
    "--traceback",
    is_flag=True,
    help="On an error, print the Python traceback too (for reporting a bug).",
)
@click.version_option(package_name="pelihara")
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str | None, traceback: bool) -> None:
    """pelihara: maintain servers hosted for other agencies, and prove what happened.

    \b
    Start with:
      pelihara init                                  create the database
      pelihara inventory import examples/inventory.csv
      pelihara inventory list

    \b
    Shell completion of commands and options, in ~/.bashrc:
      eval "$(_PELIHARA_COMPLETE=bash_source pelihara)"
    (zsh: zsh_source in ~/.zshrc; fish: fish_source).
    """
    app = App(db=db, actor=actor)
    ctx.obj = app
    ctx.call_on_close(app.close)


@cli.command()
@click.pass_obj
def init(app: App) -> None:
    """Create the database, or upgrade it to this version's schema.

    Also puts back the audit log's append-only triggers where they are missing, and writes
    an audit key into credentials.toml (0600) when there is none (never over one).
    Safe to run again: an up-to-date database is left as it is.
    """
    from pelihara import migrations
    from pelihara.inventory.audit_setup import prepare_audit
    from pelihara.inventory.db import safe_url

    before, after = migrations.upgrade(app.engine(create=True))
    state = "created" if before is None else ("up to date" if before == after else "upgraded")
    click.echo(f"database {safe_url(app.url)}: {state} (schema {after})")
    setup = prepare_audit(app.engine())
    if setup.restored:
        click.echo(f"audit log: restored the append-only guards {', '.join(setup.restored)}")
    if setup.key.written:
        click.echo(f"audit key: new, written to {setup.key.source}; keep a copy somewhere safe "
                   "(without it the log's MACs cannot be checked)")  # fmt: skip


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="pelihara")


if __name__ == "__main__":
    main()
