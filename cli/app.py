"""What every command shares: the configuration (`pelihara.toml`, read first: a malformed file
stops every command with status 2), the database URL, the actor, the engine (opened lazily)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pelihara.core.config import Config, load_config
from pelihara.core.errors import ConfigurationError
from pelihara.core.paths import database_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker


@dataclass
class App:
    """Options of the `pelihara` group, handed to subcommands through click's context."""

    db: str | None = None
    actor: str | None = None
    config: Config = field(default_factory=load_config)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return database_url(self.db)

    @property
    def who(self) -> str:
        from pelihara.inventory.audit import current_actor

        return current_actor(self.actor)

    @property
    def busy_wait(self) -> float:
        """`[database] busy_wait_seconds` of pelihara.toml: how long a writer waits for its turn."""
        from pelihara.inventory.db import BUSY_WAIT

        value = self.config.table("database").get("busy_wait_seconds", BUSY_WAIT)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigurationError(
                f"{self.config.path}: [database] busy_wait_seconds must be a number above 0"
            )
        return float(value)

    def engine(self) -> Engine:
        from pelihara.inventory.db import make_engine

        if self._engine is None:
            self._engine = make_engine(self.url, busy_wait=self.busy_wait)
        return self._engine

    def sessions(self) -> sessionmaker[Session]:
        """Sessions on a database whose schema is current (else: run `pelihara init`)."""
        from pelihara import migrations
        from pelihara.inventory.db import session_factory

        engine = self.engine()
        migrations.require_current(engine)
        return session_factory(engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
