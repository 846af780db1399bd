"""The forms as documents: HTML, PDF (through the Berita Acara's `html_to_pdf`) and
Markdown, from the data of `forms_doc.py`, and the BLANK forms with lines to write on, for
recording by hand when the application is unavailable (the SOP's *dapat dilakukan secara
manual*).

Each form has one template for HTML and PDF (`completeness.html`, `withdrawal.html`,
extending `base.html`: the same letterhead, page footer and signature macro as the Berita
Acara) and one for Markdown. A blank form is the same template with `blank` set: the same
headings and columns, empty rows. The blank Berita Acara has a template of its own
(`berita_acara_blank.html`) with the Berita Acara's headings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from pelihara.maintenance.documents.form_labels import form_words
from pelihara.maintenance.documents.forms_doc import signature
from pelihara.maintenance.documents.render import html_to_pdf, letterhead, render
from pelihara.maintenance.organisation import Organisation
from pelihara.maintenance.roles import role_label

FORMATS = ("pdf", "html", "md")
BLANK_FORMATS = ("pdf", "html")
# a form by its name on the command line: its template and its file's name
TEMPLATES = {"completeness": "completeness", "withdrawal": "withdrawal",
             "berita-acara": "berita_acara_blank"}  # fmt: skip
FILE_NAMES = {"completeness": "formulir-kelengkapan", "withdrawal": "formulir-penarikan",
              "berita-acara": "berita-acara"}  # fmt: skip
BLANK_SIGNATURES = {
    "completeness": (("dc_block", "tim_data_center"), ("opd_block", "opd")),
    "withdrawal": (("taker_block", "taker"), ("dc_block", "tim_data_center"),
                   ("opd_block", "opd")),
    "berita-acara": (("made_by", "tim_data_center"), ("received_by", "kepala_bidang"),
                     ("reviewed_by", "kepala_dinas")),
}  # fmt: skip
BLANK_ROWS = 8  # lines to write on in each table of a blank form


@dataclass(frozen=True)
class FormRequest:
    """What is asked: FORMAT (pdf, html, md) in LANG (id, en)."""

    format: str = "pdf"
    lang: str = "id"


def file_name(form: str, reference: str | None, fmt: str) -> str:
    """`formulir-kelengkapan-2026-0001.pdf`; a blank form `formulir-kelengkapan-kosong.pdf`."""
    which = reference.replace("/", "-") if reference else "kosong"
    return f"{FILE_NAMES[form]}-{which}.{fmt}"


def blank_content(
    form: str, organisation: Organisation | None, lang: str, steps: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The data of FORM (`completeness`, `withdrawal`, `berita-acara`) with nothing filled
    in: the letterhead when configured, blank signature blocks, no ticket; the Berita
    Acara's timeline lists STEPS (the SOP's step names) with their columns empty."""
    return {"kind": form, "lang": lang, "blank": True, "rows": BLANK_ROWS, "steps": list(steps),
            "organisation": letterhead(organisation), "number": "", "ticket": None,
            "request": None, "generated_at": "",
            "signatures": [signature(b, r) for b, r in BLANK_SIGNATURES[form]]}  # fmt: skip


def render_form(data: dict[str, Any], request: FormRequest, zone: tzinfo) -> bytes:
    """DATA (of `forms_doc` or `blank_content`) as the document REQUEST asks."""
    words = form_words(request.lang)
    roles = {key: role_label(key, request.lang) for key in
             ("tim_data_center", "kepala_bidang", "kepala_dinas", "opd")}  # fmt: skip
    context = {"rows": BLANK_ROWS, **data, "t": words, "roles": {**roles, "taker": words["taker"]}}
    template = TEMPLATES[data["kind"]]
    if request.format == "md":
        return render(f"{template}.md", context, zone, request.lang).encode("utf-8")
    html = render(f"{template}.html", context, zone, request.lang)
    return html_to_pdf(html) if request.format == "pdf" else html.encode("utf-8")
