"""What `pelihara init` does for the audit log after the migrations: the append-only
triggers put back where they are missing or changed, and a MAC key that signs this log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pelihara.core.errors import ConfigurationError, DatabaseError
from pelihara.inventory.audit import mac_matches
from pelihara.inventory.audit_guards import restore_guards
from pelihara.inventory.audit_key import KeySetup, ensure_key, load_key
from pelihara.inventory.db import describe_database_error
from pelihara.inventory.models import AuditEntry


@dataclass(frozen=True)
class AuditSetup:
    restored: list[str]  # triggers (and function) created again
    key: KeySetup


def _latest_signed(session: Session) -> AuditEntry | None:
    stmt = select(AuditEntry).where(AuditEntry.mac.is_not(None)).order_by(AuditEntry.seq.desc())
    return session.scalars(stmt.limit(1)).first()


def prepare_audit(engine: Engine) -> AuditSetup:
    """Restore the guards; find the key, or write a new one for a log that has no MACs yet.

    A key that did not sign the log's latest signed entry is an error: every entry it
    wrote would fail `audit verify`."""
    try:
        with engine.begin() as connection:
            restored = restore_guards(connection)
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot restore the audit log's append-only triggers (run `pelihara init` as the "
            f"database's owner): {describe_database_error(exc)}"
        ) from exc
    with Session(engine) as session:
        latest = _latest_signed(session)
        key = load_key()
        if key is not None and latest is not None and not mac_matches(latest, key):
            raise ConfigurationError(
                f"the audit key ({key.source}) did not sign entry {latest.seq}, the log's "
                "latest signed entry: it is another key, or the entry was edited "
                "(`pelihara audit verify` tells)"
            )
        return AuditSetup(restored, ensure_key(log_is_signed=latest is not None))
