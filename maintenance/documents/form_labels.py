"""The words of the forms (SOP steps 5 and 8, and the blank documents), in Bahasa Indonesia
(`id`) and English (`en`).

A form's words are the Berita Acara's (`labels.BERITA_ACARA`: the table headings, the page
footer) with its own over them: `form_words("completeness", "en")`. A key missing in one
language fails the render (StrictUndefined), never a blank heading.
"""

from __future__ import annotations

from pelihara.maintenance.documents.labels import BERITA_ACARA

FORMS = {
    "id": {
        "completeness": "Formulir Kelengkapan Perangkat Server",
        "withdrawal": "Formulir Penarikan Perangkat",
        "components": "Komponen", "slot": "Slot", "model": "Model", "no_components":
        "Tidak ada komponen tercatat di inventaris.",
        "as_confirmed": "Formulir ini dicetak sebagaimana dikonfirmasi oleh {by} pada {at} "
                        "(dicatat oleh {recorded}); sidik formulir (SHA-256): {sha}.",
        "from_inventory": "Formulir ini belum dikonfirmasi oleh OPD: isinya adalah inventaris "
                          "pada {at}.",
        "confirmation": "Konfirmasi OPD",
        "confirm_text": "Kami menyatakan bahwa perangkat di atas lengkap dan sesuai.",
        "opd_block": "Perwakilan OPD", "contact": "Narahubung OPD",
        "server_of": "Server", "memory": "Memori (GB)", "cores": "Inti CPU",
        "withdrawn_none": "Tidak ada perangkat yang ditarik",
        "decided_none": "Diputuskan tidak ada perangkat yang ditarik oleh {by} pada {at}.",
        "undecided": "Keputusan penarikan (langkah 8) belum dicatat.",
        "recorded_by": "Dicatat oleh", "custody": "Serah terima",
        "taker_block": "Yang membawa", "dc_block": "Petugas",
        "taker": "Pihak yang membawa", "when": "Waktu",
        "blank_berita_acara": "Berita Acara Pemeliharaan Server",
        "blank_note": "Formulir kosong untuk pencatatan manual (SOP: dapat dilakukan secara "
                      "manual).",
        "letterhead_blank": "(kop surat)", "view_note":
        "Formulir ini adalah tampilan; mencetaknya tidak mencatat apa pun pada tiket.",
        "form_hash": "Sidik formulir (SHA-256)",
    },
    "en": {
        "completeness": "Server Equipment Completeness Form",
        "withdrawal": "Device Withdrawal Form",
        "components": "Components", "slot": "Slot", "model": "Model", "no_components":
        "No component recorded in the inventory.",
        "as_confirmed": "This form is printed as confirmed by {by} on {at} (recorded by "
                        "{recorded}); form fingerprint (SHA-256): {sha}.",
        "from_inventory": "This form is not confirmed by the OPD yet: it shows the inventory "
                          "as of {at}.",
        "confirmation": "OPD confirmation",
        "confirm_text": "We confirm that the equipment above is complete and correct.",
        "opd_block": "OPD representative", "contact": "OPD contact",
        "server_of": "Server", "memory": "Memory (GB)", "cores": "CPU cores",
        "withdrawn_none": "No device was withdrawn",
        "decided_none": "Decided that no device was withdrawn, by {by} on {at}.",
        "undecided": "The withdrawal decision (step 8) is not recorded yet.",
        "recorded_by": "Recorded by", "custody": "Custody",
        "taker_block": "Taken by", "dc_block": "Officer",
        "taker": "Person taking the device", "when": "When",
        "blank_berita_acara": "Server Maintenance Report (Berita Acara)",
        "blank_note": "Blank form for recording by hand (SOP: may be done manually).",
        "letterhead_blank": "(letterhead)", "view_note":
        "This form is a view; printing it records nothing on the ticket.",
        "form_hash": "Form fingerprint (SHA-256)",
    },
}  # fmt: skip


def form_words(lang: str) -> dict[str, str]:
    """The forms' words in LANG: the Berita Acara's, with the forms' own over them."""
    return {**BERITA_ACARA[lang], **FORMS[lang]}
