"""What every command shares: the configuration (`pelihara.toml`, read first: a malformed file
stops every command with status 2), the database URL, the actor, the engine (opened lazily)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cached_property
from typing import TYPE_CHECKING

import click

from pelihara.core.config import Config, load_config
from pelihara.core.errors import ConfigurationError
from pelihara.core.paths import database_url
from pelihara.core.times import display_zone

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from pelihara.inventory.dbapi import Where


@dataclass
class App:
    """Options of the `pelihara` group, handed to subcommands through click's context."""

    db: str | None = None
    actor: str | None = None
    config: Config = field(default_factory=load_config)
    _engines: dict[bool, Engine] = field(default_factory=dict, repr=False)  # by read_only

    @property
    def url(self) -> str:
        """`--db`, PELIHARA_DB or the default file; a relative SQLite path made absolute."""
        from pelihara.inventory.db import absolute_url

        return absolute_url(database_url(self.db))

    @cached_property
    def zone(self) -> tzinfo:
        """`[display] time_zone` of pelihara.toml: the zone tables show times in."""
        return display_zone(self.config)

    @property
    def who(self) -> str:
        from pelihara.inventory.audit_chain import current_actor

        return current_actor(self.actor)

    @property
    def busy_wait(self) -> float:
        """`[database] busy_wait_seconds` of pelihara.toml: how long a writer waits for its turn."""
        from pelihara.inventory.dbapi import BUSY_WAIT

        value = self.config.table("database").get("busy_wait_seconds", BUSY_WAIT)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigurationError(
                f"{self.config.path}: [database] busy_wait_seconds must be a number above 0"
            )
        return float(value)

    def where(self) -> Where:
        """The database as `inventory.dbapi` opens it (no SQLAlchemy: `verify`)."""
        from pelihara.inventory.dbapi import where_of

        url = database_url(self.db)
        where = where_of(url)
        if where is None:  # what pelihara cannot open at all is said as every command says it
            from pelihara.inventory.db import parse_url, safe_url

            parse_url(url)
            raise ConfigurationError(
                f"verify writes its run to an SQLite file (sqlite:///PATH) or PostgreSQL, "
                f"not {safe_url(url)}"
            )
        return where

    def engine(self, read_only: bool = False, create: bool = False) -> Engine:
        """The engine; READ_ONLY: one that opens the database read-only (the commands that
        only read work on an auditor's copy on a read-only medium). Only CREATE (`init`)
        makes a database file that is not there: any other command says to run init."""
        from pelihara.inventory.db import make_engine

        if read_only not in self._engines:
            self._engines[read_only] = make_engine(
                self.url, read_only=read_only, busy_wait=self.busy_wait, create=create
            )
        return self._engines[read_only]

    def sessions(self, read_only: bool = False) -> sessionmaker[Session]:
        """Sessions on a database whose schema is current (else: run `pelihara init`)."""
        from pelihara import migrations
        from pelihara.inventory.db import session_factory

        engine = self.engine(read_only)
        migrations.require_current(engine)
        return session_factory(engine)

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


def one_selection(hosts: tuple[str, ...], all_hosts: bool, opd: str | None) -> None:
    """HOSTS, --all and --opd choose servers three ways: one of them, never two at once."""
    given = [name for name, on in (("HOST", hosts), ("--all", all_hosts), ("--opd", opd)) if on]
    if len(given) > 1:
        raise click.UsageError(
            f"{' and '.join(given)} together: name the servers, or give --all, or --opd"
        )


class SuggestingGroup(click.Group):
    """A group that answers a mistyped command with the near one, whatever click's version
    (and with the commands it loads lazily): `No such command 'lst'. Did you mean 'list'?`"""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        unknown = not name.startswith("-") and self.get_command(ctx, name) is None
        if unknown and not ctx.resilient_parsing:
            near = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if near:
                ctx.fail(f"No such command {name!r}. Did you mean {near[0]!r}?")
        return super().resolve_command(ctx, args)
