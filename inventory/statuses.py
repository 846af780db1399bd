"""What the inventory's rows can be (server and component states, component kinds) and the
clock its rows are stamped with: plain Python, so that code that only reads them (the
collector's `verify`) does not import SQLAlchemy (`inventory.models` maps the tables)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


class ServerStatus(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    WITHDRAWN = "withdrawn"


class ComponentKind(StrEnum):
    DISK = "disk"
    PSU = "psu"
    NIC = "nic"
    MEMORY = "memory"
    CPU = "cpu"
    OTHER = "other"


class ComponentStatus(StrEnum):
    INSTALLED = "installed"
    WITHDRAWN = "withdrawn"
