"""The inventory tables: sites, racks, OPDs, servers, addresses, components, host keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pelihara.inventory.db import Base
from pelihara.inventory.statuses import ComponentKind, ComponentStatus, ServerStatus, utcnow

# The states and the clock live in `statuses` (no SQLAlchemy there); named here as well.
__all__ = [
    "AuditEntry",
    "Component",
    "ComponentKind",
    "ComponentStatus",
    "HostKey",
    "IpAddress",
    "Opd",
    "Rack",
    "Server",
    "ServerStatus",
    "Site",
    "utcnow",
]


def _enum_check(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    racks: Mapped[list[Rack]] = relationship(back_populates="site")


class Rack(Base):
    __tablename__ = "rack"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_rack_site_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    name: Mapped[str] = mapped_column(String(50))
    site: Mapped[Site] = relationship(back_populates="racks")


class Opd(Base):
    """The owning agency (Organisasi Perangkat Daerah)."""

    __tablename__ = "opd"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Server(Base):
    __tablename__ = "server"
    __table_args__ = (_enum_check("status", ServerStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    rack_id: Mapped[int | None] = mapped_column(ForeignKey("rack.id"), index=True)
    rack_unit: Mapped[int | None] = mapped_column(Integer)
    vendor: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    serial: Mapped[str | None] = mapped_column(String(100), index=True)
    asset_tag: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default=ServerStatus.ACTIVE.value)
    cpu_cores: Mapped[int | None] = mapped_column(Integer)
    memory_gb: Mapped[float | None] = mapped_column(Float)
    disk_gb: Mapped[float | None] = mapped_column(Float)
    os: Mapped[str | None] = mapped_column(String(100))
    ssh_host: Mapped[str | None] = mapped_column(String(253))
    ssh_port: Mapped[int | None] = mapped_column(Integer)
    ssh_user: Mapped[str | None] = mapped_column(String(64))
    snmp_port: Mapped[int | None] = mapped_column(Integer)
    snmp_version: Mapped[str | None] = mapped_column(String(4))
    # The NAME of an entry in credentials.toml, never a secret.
    snmp_credential: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    opd: Mapped[Opd] = relationship()
    site: Mapped[Site | None] = relationship()
    rack: Mapped[Rack | None] = relationship()
    addresses: Mapped[list[IpAddress]] = relationship(
        back_populates="server",
        cascade="all, delete-orphan",
        order_by="(IpAddress.primary.desc(), IpAddress.id)",
    )
    components: Mapped[list[Component]] = relationship(
        back_populates="server", cascade="all, delete-orphan", order_by="Component.id"
    )
    host_keys: Mapped[list[HostKey]] = relationship(
        back_populates="server", cascade="all, delete-orphan", order_by="HostKey.key_type"
    )


class IpAddress(Base):
    __tablename__ = "ip_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("server.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(45), unique=True)  # compressed text form
    version: Mapped[int] = mapped_column(Integer)
    interface: Mapped[str | None] = mapped_column(String(64))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    server: Mapped[Server] = relationship(back_populates="addresses")


class Component(Base):
    __tablename__ = "component"
    __table_args__ = (
        _enum_check("kind", ComponentKind),
        _enum_check("status", ComponentStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("server.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(100))
    serial: Mapped[str | None] = mapped_column(String(100), index=True)
    slot: Mapped[str | None] = mapped_column(String(50))  # where it sits: "bay 2", "PSU1"
    status: Mapped[str] = mapped_column(String(20), default=ComponentStatus.INSTALLED.value)
    installed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    server: Mapped[Server] = relationship(back_populates="components")


class HostKey(Base):
    """An SSH host key seen for a server, by SHA-256 fingerprint (as `ssh-keygen -l` prints it)."""

    __tablename__ = "host_key"
    __table_args__ = (UniqueConstraint("server_id", "key_type", name="uq_host_key_server_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("server.id", ondelete="CASCADE"), index=True)
    key_type: Mapped[str] = mapped_column(String(40))
    fingerprint_sha256: Mapped[str] = mapped_column(String(100))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    server: Mapped[Server] = relationship(back_populates="host_keys")


class AuditEntry(Base):
    """One append-only, hash-chained record of a change: who, when, what, before and after."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_key: Mapped[str] = mapped_column(String(253), index=True)
    before: Mapped[dict[str, object] | None] = mapped_column(JSON)
    after: Mapped[dict[str, object] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC-SHA-256 of the same content under the audit key (NULL: written before MACs).
    mac: Mapped[str | None] = mapped_column(String(64))
