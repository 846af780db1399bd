"""What the Berita Acara embeds besides the records: each server's health chart around its
maintenance (from the time-series store) and a thumbnail of each photo attached.

A chart spans the server's latest stored diff of the ticket: from its pre snapshot to its
post snapshot, with an hour on either side (`charts.server_health_chart`). A server without
a stored diff, or without series, has no chart ("no health series"). A store that cannot be
read is not "no series": the report says the charts were not read, and why (a check that
could not run is said so, never left out). A thumbnail is made from the file kept under
its SHA-256 in the data directory; a scan that is no picture (a PDF) has none, and is listed
by its hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pelihara.collector.diff_store import stored_diffs
from pelihara.collector.health_window import HealthNotCompared, open_health_store
from pelihara.collector.models import SnapshotRecord
from pelihara.maintenance.documents.berita_acara import Extras
from pelihara.maintenance.models import Ticket

if TYPE_CHECKING:
    from pelihara.timeseries.base import Store


def report_extras(
    session: Session, ticket: Ticket, store_url: str | None, zone: tzinfo, lang: str,
    attachments: Path,
) -> Extras:  # fmt: skip
    """The charts of TICKET's servers (from the store at STORE_URL, the embedded one by
    default) and the thumbnails of its files kept in ATTACHMENTS."""
    thumbnails = {sha256: _thumbnail(attachments / sha256) for sha256 in _hashes(ticket)}
    try:
        store = open_health_store(store_url)
        charts = _charts(session, ticket, store, zone, lang)
    except HealthNotCompared as exc:
        return Extras({}, thumbnails, charts_unread=str(exc))
    return Extras(charts, thumbnails)


def _charts(
    session: Session, ticket: Ticket, store: Store, zone: tzinfo, lang: str
) -> dict[str, str | None]:
    from pelihara.maintenance.charts import server_health_chart, svg_data_uri

    charts: dict[str, str | None] = {}
    latest = {record.host: record for record in stored_diffs(session, ticket.reference)}
    for host, record in latest.items():
        pre = session.get(SnapshotRecord, record.before_snapshot_id)
        post = session.get(SnapshotRecord, record.after_snapshot_id)
        if pre is None or post is None:
            continue
        svg = server_health_chart(store, host, pre.taken_at, post.taken_at, zone, lang)
        charts[host] = svg_data_uri(svg) if svg is not None else None
    return charts


def _hashes(ticket: Ticket) -> Iterable[str]:
    """The SHA-256 of every file of TICKET: attachments, and the steps' scans."""
    found = {record.sha256 for record in ticket.records
             if record.kind == "attachment" and record.sha256}  # fmt: skip
    found.update(sha256 for step in ticket.steps for sha256 in (step.attachments or "").split())
    return sorted(found)


def _thumbnail(path: Path) -> str | None:
    from pelihara.maintenance.thumbnails import data_uri, thumbnail

    try:
        content = path.read_bytes()
    except OSError:
        return None  # not on this machine: listed by its hash
    made = thumbnail(content)
    return data_uri(*made) if made is not None else None
