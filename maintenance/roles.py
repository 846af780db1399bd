"""The SOP's actors, ONE table: the ids a SOP file's steps and pelihara.toml's people use.

>>> sorted(ROLES)
['kepala_bidang', 'kepala_dinas', 'opd', 'tim_data_center']
>>> ROLES["kepala_dinas"].name, ROLES["opd"].english
('Kepala Dinas', 'the requesting agency (OPD)')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """One of the SOP's actors: its id, its name as the SOP says it, and in English."""

    id: str
    name: str  # Bahasa Indonesia, as the SOP writes it
    english: str


ROLES: Mapping[str, Role] = {
    role.id: role
    for role in (
        Role("kepala_dinas", "Kepala Dinas", "Head of the Office"),
        Role("kepala_bidang", "Kepala Bidang", "Head of Division"),
        Role("tim_data_center", "Tim Data Center", "Data Center team"),
        Role("opd", "OPD", "the requesting agency (OPD)"),
    )
}


def role_label(role: str, lang: str = "id") -> str:
    """A role's name in LANG (`id`: as the SOP writes it; `en`)."""
    return ROLES[role].name if lang == "id" else ROLES[role].english
