"""The collector's tables: verification runs, their findings and raw observations; snapshots
and their stored diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pelihara.inventory.db import Base
from pelihara.inventory.models import utcnow


class VerifyRun(Base):
    """One `pelihara verify`: who, when, what it asked, and how it ended."""

    __tablename__ = "verify_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    ticket: Mapped[str | None] = mapped_column(String(100), index=True)
    probes: Mapped[str] = mapped_column(String(100))
    hosts_total: Mapped[int] = mapped_column(Integer)
    hosts_done: Mapped[int] = mapped_column(Integer, default=0)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    exit_status: Mapped[int | None] = mapped_column(Integer)

    findings: Mapped[list[VerifyFinding]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="VerifyFinding.id"
    )
    observations: Mapped[list[VerifyObservation]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="VerifyObservation.id"
    )


class VerifyFinding(Base):
    __tablename__ = "verify_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("verify_run.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253), index=True)
    check: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    expected: Mapped[str | None] = mapped_column(Text)
    observed: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text, default="")
    run: Mapped[VerifyRun] = relationship(back_populates="findings")


class VerifyObservation(Base):
    """What one probe saw of one host, as it saw it (JSON), with its status."""

    __tablename__ = "verify_observation"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("verify_run.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    run: Mapped[VerifyRun] = relationship(back_populates="observations")


class SnapshotRecord(Base):
    """One snapshot of one server, as taken: never updated or deleted (the database's own
    triggers refuse it, as for the audit log).

    SERVER_ID follows the server through a rename (`inventory rename`); HOST is its hostname
    when taken, as the document says. DOCUMENT is the canonical JSON text, byte for byte
    what SHA256 hashes (`pelihara snapshot show ID --format json` prints it)."""

    __tablename__ = "snapshot"
    __table_args__ = (CheckConstraint("phase IN ('pre', 'post', 'adhoc')", name="phase_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("server.id"), index=True)
    host: Mapped[str] = mapped_column(String(253), index=True)
    ticket: Mapped[str | None] = mapped_column(String(100), index=True)
    phase: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    probes: Mapped[str] = mapped_column(String(100))
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)


class SnapshotDiffRecord(Base):
    """One diff of a ticket's `pre` and `post` snapshots of one server, as the report reads
    it: never updated or deleted (triggers, as for `snapshot`).

    DOCUMENT is the diff's canonical JSON (`diff_to_dict`; it names the rules' hash), SHA256
    the hash of exactly those bytes. The inputs (the two snapshots' hashes, the rules' and
    the intents' hashes) with the result are unique: the same diff is stored once. INTENTS
    is their canonical JSON (`intents_to_dict`), or NULL when none were given; its hash is
    then the hash of `null`, so that the unique key holds no NULL."""

    __tablename__ = "snapshot_diff"
    __table_args__ = (
        UniqueConstraint("before_sha256", "after_sha256", "rules_sha256", "intents_sha256",
                         "sha256"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(100), index=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("server.id"), index=True)
    host: Mapped[str] = mapped_column(String(253))
    before_snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id"))
    before_sha256: Mapped[str] = mapped_column(String(64))
    after_snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id"))
    after_sha256: Mapped[str] = mapped_column(String(64))
    rules_sha256: Mapped[str] = mapped_column(String(64))
    intents: Mapped[str | None] = mapped_column(Text)
    intents_sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
