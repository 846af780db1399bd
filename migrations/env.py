"""Alembic environment: sees every package's models through their shared metadata."""

from __future__ import annotations

from alembic import context

import pelihara.collector.models
import pelihara.inventory.models
import pelihara.maintenance.models  # noqa: F401
from pelihara.inventory.db import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from pelihara.core.paths import database_url
    from pelihara.inventory.db import make_engine

    engine = make_engine(database_url())

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
