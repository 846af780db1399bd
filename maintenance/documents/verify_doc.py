"""A verification run (SOP step 4) as a document for the Kepala Bidang: HTML or PDF.

The run as `verify show --format json` gives it (`collector.runs.run_document`) becomes
the data of `templates/verify_run.html`: the run (id, ticket, operator, sources, when, in
the data center's zone), each host's verdict in words, and the findings that are not ok.
No database here, no clock: the same run gives the same document, byte for byte (the
document's date is the run's own end, or its start while it has none).

>>> verdict_text("mismatch", "id")
'tidak sesuai dengan inventaris'
>>> verdict_text("mismatch", "en")
'not as the inventory says'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from pelihara.collector.findings import VERDICT_WORDS, summary_bucket
from pelihara.core.times import as_utc
from pelihara.maintenance.documents.labels import VERDICT_WORDS_ID, VERIFY_RUN
from pelihara.maintenance.documents.render import html_to_pdf, letterhead, render
from pelihara.maintenance.organisation import Organisation
from pelihara.maintenance.roles import ROLES

FORMATS = ("html", "pdf")
BUCKETS = ("ok", "info", "failing", "error", "unreached")


def verdict_text(verdict: str, lang: str) -> str:
    """A host's verdict (`collector.findings.VERDICTS`) in words, in LANG."""
    return (VERDICT_WORDS_ID if lang == "id" else VERDICT_WORDS)[verdict]


def file_name(run_id: int, fmt: str) -> str:
    """The default file of `verify show RUN --format pdf`: `verifikasi-12.pdf`."""
    return f"verifikasi-{run_id}.{fmt}"


def run_content(
    document: Mapping[str, Any], organisation: Organisation | None, lang: str
) -> dict[str, Any]:
    """The template's data from DOCUMENT (`run_document`): the letterhead (None without an
    `[organisation]`: a plain header), the run, the hosts with their verdicts, the findings
    not ok (in the run's order)."""
    findings = document["findings"]
    return {
        "lang": lang, "organisation": letterhead(organisation),
        "number": f"{VERIFY_RUN[lang]['number']} {document['run']}",
        "generated_at": _iso(document["finished_at"] or document["started_at"]),
        "run": _run(document), "hosts": _hosts(findings, document["verdicts"], lang),
        "findings": [f for f in findings if f["status"] != "ok"],
    }  # fmt: skip


def render_run(content: Mapping[str, Any], fmt: str, zone: tzinfo) -> bytes:
    """CONTENT (`run_content`) as HTML (UTF-8) or PDF, times in ZONE."""
    lang = str(content["lang"])
    signatures = [{"block": "made_by", "role": "tim_data_center", "name": None, "nip": None,
                   "position": None},
                  {"block": "received_by", "role": "kepala_bidang", "name": None, "nip": None,
                   "position": None}]  # fmt: skip
    context = {**content, "t": VERIFY_RUN[lang], "signatures": signatures,
               "roles": {key: role.name for key, role in ROLES.items()}}  # fmt: skip
    html = render("verify_run.html", context, zone, lang)
    return html_to_pdf(html) if fmt == "pdf" else html.encode("utf-8")


def _run(document: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("run", "actor", "ticket", "probes", "hosts_done", "hosts_total", "interrupted",
            "exit_status")  # fmt: skip
    found = {key: document[key] for key in keys}
    found["started_at"] = _iso(document["started_at"])
    found["finished_at"] = _iso(document["finished_at"]) if document["finished_at"] else None
    return found


def _hosts(
    findings: list[Mapping[str, Any]], verdicts: Mapping[str, str], lang: str
) -> list[dict[str, Any]]:
    """Each host (by name): its verdict, in words, and its findings counted as `verify
    show`'s table counts them."""
    counts: dict[str, Counter[str]] = {}
    for finding in findings:
        counts.setdefault(str(finding["host"]), Counter())[summary_bucket(finding)] += 1
    return [
        {"host": host, "verdict": verdict, "words": verdict_text(verdict, lang),
         "counts": [counts.get(host, Counter())[b] for b in BUCKETS]}
        for host, verdict in sorted(verdicts.items())
    ]  # fmt: skip


def _iso(moment: datetime) -> str:
    """MOMENT (naive: UTC, as SQLite gives it back) as ISO UTC text."""
    return as_utc(moment).isoformat()
