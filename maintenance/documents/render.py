"""The documents' rendering: one Jinja2 environment for HTML and Markdown, and HTML to PDF.

The templates live in this package (`templates/`): `NAME.html` is escaped (autoescape on),
`NAME.md` is Markdown, its table cells passed through the `md` filter. An undefined name in
a template is an error, never an empty string (StrictUndefined): a document that silently
leaves a field blank would prove nothing.

Dates are written the Indonesian way, times in the data center's zone:

>>> long_date(date(2026, 12, 3), "id")
'3 Desember 2026'
>>> long_date(date(2026, 12, 3), "en")
'3 December 2026'

The PDF comes from WeasyPrint, imported only when a PDF is asked for (`pelihara --help`
stays quick, and a machine without pango still makes HTML and Markdown). No document names
an external resource: fonts are the system's, a logo or chart is embedded as a data URI.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pelihara.core.times import as_utc, long_date
from pelihara.maintenance.organisation import Organisation

# The zones of Indonesia by their Indonesian abbreviation; another zone keeps its own.
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
              "Asia/Jayapura": "WIT"}  # fmt: skip
MD_SPECIAL = str.maketrans({"|": "\\|", "\n": " ", "\r": " "})


def zone_name(zone: tzinfo, moment: datetime) -> str:
    """`WIB` for Asia/Jakarta; else the zone's own abbreviation (`UTC`)."""
    key = getattr(zone, "key", None)
    return ZONE_NAMES.get(key or "", moment.tzname() or "UTC")


def local_moment(moment: datetime, zone: tzinfo, lang: str = "id") -> str:
    """`3 Desember 2026 14:05 WIB`: MOMENT (naive: UTC) in ZONE, to the minute."""
    here = as_utc(moment).astimezone(zone)
    return f"{long_date(here.date(), lang)} {here:%H:%M} {zone_name(zone, here)}"


def data_uri(path: Path) -> str:
    """The file at PATH as a `data:` URI (a logo embedded, never fetched)."""
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{media};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def letterhead(organisation: Organisation | None) -> dict[str, Any] | None:
    """`[organisation]` as the documents' letterhead prints it (the logo embedded as a data
    URI), or None when it is not configured."""
    if organisation is None:
        return None
    found = organisation.as_dict()
    found["logo"] = data_uri(organisation.logo) if organisation.logo is not None else None
    return found


def md_cell(value: object) -> str:
    """VALUE safe in a Markdown table cell: `|` escaped, line breaks made spaces."""
    return "" if value is None else str(value).translate(MD_SPECIAL)


def value_text(value: object) -> str:
    """A fact's value as one line: `model: ST4000, serial: DISK-2`; a list joined; None `-`.

    >>> value_text({"serial": "DISK-2", "model": "ST4000"})
    'model: ST4000, serial: DISK-2'
    """
    if value is None:
        return "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {value_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or "-"
    return str(value)


def environment(zone: tzinfo, lang: str) -> Environment:
    """The templates' environment for documents in LANG with times in ZONE."""
    env = Environment(
        loader=PackageLoader("pelihara.maintenance.documents", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )  # fmt: skip
    env.filters["long_date"] = lambda day: long_date(_as_date(day), lang)
    env.filters["moment"] = lambda moment: local_moment(_as_datetime(moment), zone, lang)
    env.filters["long_date_of"] = lambda moment: long_date(_local_day(moment, zone), lang)
    env.filters["md"] = md_cell
    env.filters["value"] = value_text
    return env


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _local_day(moment: datetime | str, zone: tzinfo) -> date:
    return as_utc(_as_datetime(moment)).astimezone(zone).date()


def render(template: str, context: Mapping[str, Any], zone: tzinfo, lang: str) -> str:
    """TEMPLATE (`berita_acara.html`, `berita_acara.md`) rendered with CONTEXT."""
    return environment(zone, lang).get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """HTML as an A4 PDF. The same HTML gives the same bytes: WeasyPrint writes no time of
    its own (the creation date is the document's `dcterms.created`, fixed in the HTML)."""
    from weasyprint import HTML  # lazy: pango is loaded only to make a PDF

    pdf: bytes = HTML(string=html, base_url=None).write_pdf()
    return pdf
