"""The SSH host keys recorded for a server: forgetting them after a legitimate re-key.

`pelihara verify --trust-new-host-keys` records the key a server offers the first time; a
different key later is refused as CHANGED, whatever the flag. When the server really was
re-keyed (reinstalled, keys rotated), the team checks the new key out of band, forgets the
old record here, and lets the next verify record the new one. Each forgotten key is an
entry in the audit log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from pelihara.core.errors import NotFoundError
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.models import HostKey, Server


def forget_host_keys(
    session: Session, audit: AuditLog, server: Server, key_type: str | None = None
) -> list[HostKey]:
    """Remove SERVER's recorded keys (of KEY_TYPE only, if given); they are returned.
    Nothing to forget is an error naming what is recorded."""
    chosen = [k for k in server.host_keys if key_type in (None, k.key_type)]
    if not chosen:
        recorded = ", ".join(sorted(k.key_type for k in server.host_keys)) or "none"
        wanted = f"of type {key_type} " if key_type else ""
        raise NotFoundError(
            f"{server.hostname}: no host key {wanted}is recorded (recorded: {recorded})"
        )
    for key in chosen:
        before = {"key_type": key.key_type, "fingerprint_sha256": key.fingerprint_sha256}
        audit.append("forget", "host_key", server.hostname, before, None)
        server.host_keys.remove(key)
    session.flush()
    return chosen
