"""The names a government office's spreadsheet gives the inventory's columns and values.

ONE table, the README's: a header named by any of a column's aliases is that column
(compared without case, spaces or punctuation: `MEMORI (GB)` is `Memori (GB)`); a numbering
column (`No`, `No.`) is ignored; a status may be written in Indonesian.

>>> header_key("Memori (GB)"), header_key(" No. ")
('memori_gb', 'no')
"""

from __future__ import annotations

import re

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "hostname": ("Nama Host",),
    "ip": ("Alamat IP",),
    "domain": ("Domain", "Nama Domain"),
    "opd": ("OPD", "Perangkat Daerah"),
    "site": ("Lokasi",),
    "rack": ("Rak",),
    "rack_unit": ("Unit Rak",),
    "vendor": ("Merek", "Merk"),
    "model": ("Model", "Tipe"),
    "serial": ("Nomor Seri",),
    "asset_tag": ("Nomor Aset", "Kode Aset"),
    "status": ("Status",),
    "cpu_cores": ("Jumlah Core",),
    "memory_gb": ("Memori (GB)",),
    "disk_gb": ("Disk (GB)",),
    "os": ("Sistem Operasi",),
    "notes": ("Keterangan",),
}

# The row number a person writes in the first column: not data, so not a column.
NUMBERING_HEADERS: tuple[str, ...] = ("No", "No.")

STATUS_ALIASES: dict[str, str] = {
    "aktif": "active",
    "pemeliharaan": "maintenance",
    "ditarik": "withdrawn",
}


# The columns of a components sheet or file (`inventory import-components`, the
# `components` sheet of a workbook), with their Indonesian names: the README's second table.
COMPONENT_ALIASES: dict[str, tuple[str, ...]] = {
    "hostname": ("Nama Host",),
    "kind": ("Jenis", "Jenis Komponen"),
    "model": ("Model", "Tipe"),
    "serial": ("Nomor Seri", "No Seri"),
    "slot": ("Slot", "Posisi"),
    "status": ("Status",),
}

# A component's kind and status as an Indonesian sheet writes them.
KIND_ALIASES: dict[str, str] = {
    "memori": "memory",
    "prosesor": "cpu",
    "catu daya": "psu",
    "kartu jaringan": "nic",
    "lainnya": "other",
}
COMPONENT_STATUS_ALIASES: dict[str, str] = {
    "terpasang": "installed",
    "ditarik": "withdrawn",
}

# The titles that make a workbook's sheet its components sheet (compared as headers are).
COMPONENT_SHEETS: tuple[str, ...] = ("components", "komponen")


def header_key(name: str) -> str:
    """A header reduced to lowercase words joined by `_`: what aliases are compared by."""
    return "_".join(re.sub(r"[\W_]+", " ", name.lower()).split())


COLUMN_BY_ALIAS: dict[str, str] = {
    header_key(alias): column for column, aliases in HEADER_ALIASES.items() for alias in aliases
}
COMPONENT_COLUMN_BY_ALIAS: dict[str, str] = {
    header_key(alias): column for column, aliases in COMPONENT_ALIASES.items() for alias in aliases
}
NUMBERING_KEYS: frozenset[str] = frozenset(header_key(name) for name in NUMBERING_HEADERS)
