"""An SOP as data: the schema of an SOP file (pydantic), and the closed sets the code knows.

The steps, their roles, service levels and the evidence each needs live in a YAML file
(`sops/pemeliharaan-server.yaml`, shipped in this package); the ticket code enforces what the
file says, so the file may name only what the code can enforce: a role from `ROLES`, an
evidence kind from `EVIDENCE_KINDS`. Anything else is an error, never ignored.

Reading a file and turning pydantic's errors into the project's problems is `sop_file`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from pelihara.maintenance.roles import ROLES

SCHEMA = 1  # the version of the file format this code reads (`schema: 1` in the file)

# The SOP's actors (Pelaksana), as the people of pelihara.toml are given them.

# The evidence a step may need before the ticket moves on; each is a gate the ticket code
# knows how to check. Labels: Bahasa Indonesia, English.
EVIDENCE_KINDS: dict[str, tuple[str, str]] = {
    "verification_run": ("hasil verifikasi server", "a verification run"),
    "completeness_form": ("formulir kelengkapan", "the completeness form"),
    "announcement": ("pengumuman", "the announcement"),
    "snapshots_and_diff": ("snapshot sebelum-sesudah dan perbedaannya", "snapshots and diff"),
    "withdrawal_decision": ("keputusan penarikan perangkat", "the withdrawal decision"),
    "report": ("laporan (Berita Acara Pekerjaan)", "the report (Berita Acara Pekerjaan)"),
    "receipt": ("tanda terima laporan", "the receipt of the report"),
    "review": ("hasil review", "the review"),
    "attachment": ("lampiran", "an attachment"),
}

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LANGUAGES = ("id", "en")


def _one_of(known: Iterable[str]) -> str:
    return ", ".join(known)


def _role(value: str) -> str:
    if value not in ROLES:
        raise PydanticCustomError(
            "sop_role", "unknown role {value}; use one of {known}",
            {"value": repr(value), "known": _one_of(ROLES)},
        )  # fmt: skip
    return value


def _evidence(value: str) -> str:
    if value not in EVIDENCE_KINDS:
        raise PydanticCustomError(
            "sop_evidence", "unknown evidence kind {value}; use one of {known}",
            {"value": repr(value), "known": _one_of(EVIDENCE_KINDS)},
        )  # fmt: skip
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("sop_blank", "is empty; write the text")
    return value.strip()


Role = Annotated[str, AfterValidator(_role)]
EvidenceKind = Annotated[str, AfterValidator(_evidence)]
Line = Annotated[str, AfterValidator(_not_blank)]


class _Strict(BaseModel):
    """Strict (no `"1"` for 1, no `yes` for a text), closed (an unknown field is an error, a
    misspelt `evidense:` never silently drops a gate), read-only."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)


class Text(_Strict):
    """A text in Bahasa Indonesia (`id`, the document's own words) and in English (`en`)."""

    id: Line
    en: Line

    def in_language(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


class Step(_Strict):
    """One step: who records it, who acts with them, its service level in working days (None:
    the document gives none), the evidence the ticket needs before moving on, and the
    document's Kelengkapan (`requirements`) and Output columns, verbatim."""

    number: Annotated[int, Field(ge=1)]
    name: Text
    short: Text | None = None  # a few words for tables and messages; the name when absent
    role: Role
    with_: Annotated[list[Role], Field(alias="with")] = []
    service_level_days: Annotated[int, Field(ge=1, le=365)] | None
    evidence: list[EvidenceKind] = []
    requirements: str = ""
    output: str = ""

    @field_validator("evidence")
    @classmethod
    def _evidence_once(cls, kinds: list[str]) -> list[str]:
        twice = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if twice:
            raise PydanticCustomError(
                "sop_twice", "evidence kind {kind} is listed twice", {"kind": repr(twice[0])}
            )
        return kinds

    def label(self, lang: str = "id") -> str:
        """The step's few words (`short`), else its name, in LANG."""
        return (self.short or self.name).in_language(lang)


class Sop(_Strict):
    """An SOP: its identity as the document gives it, and its steps numbered 1..N."""

    schema_: Annotated[int, Field(alias="schema")]
    name: str
    title: Text
    number: Line
    revision: Line
    created: date | None = None
    revised: date | None = None
    effective: date | None = None
    approved_by: str = ""
    issuer: str = ""
    legal_basis: list[Line] = []
    related: list[Line] = []
    warning: Text | None = None
    steps: Annotated[list[Step], Field(min_length=1)]

    @field_validator("schema_")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value != SCHEMA:
            raise PydanticCustomError(
                "sop_schema", "schema {value} is not one this pelihara reads (it reads {known})",
                {"value": value, "known": SCHEMA},
            )  # fmt: skip
        return value

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME.match(value):
            raise PydanticCustomError(
                "sop_name", "{value} is not a name: lower-case letters, digits and '-' "
                "(e.g. permohonan-colocation)", {"value": repr(value)},
            )  # fmt: skip
        return value

    @field_validator("steps")
    @classmethod
    def _numbered_in_order(cls, steps: list[Step]) -> list[Step]:
        for index, step in enumerate(steps):
            if step.number != index + 1:
                raise PydanticCustomError(
                    "sop_numbering",
                    "numbered {number} where step {expected} belongs; steps are numbered "
                    "1, 2, 3 ... in order, each once",
                    {"number": step.number, "expected": index + 1, "index": index},
                )
        return steps

    def step(self, number: int) -> Step:
        """Step NUMBER (1..N); an IndexError for a number the SOP has not."""
        if not 1 <= number <= len(self.steps):
            raise IndexError(f"{self.name} has steps 1 to {len(self.steps)}, not {number}")
        return self.steps[number - 1]


def evidence_label(kind: str, lang: str = "id") -> str:
    """KIND's name for people: `formulir kelengkapan`; English with LANG `en`."""
    indonesian, english = EVIDENCE_KINDS[kind]
    return english if lang == "en" else indonesian


def as_document(sop: Sop) -> dict[str, Any]:
    """SOP as the JSON of `sop show --format json`: the file's own field names."""
    return sop.model_dump(mode="json", by_alias=True)
