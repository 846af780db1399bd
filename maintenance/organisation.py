"""The organisation of `pelihara.toml`: who the data center is, for the letterheads.

    [organisation]
    government = "Pemerintah Kota Contoh"
    unit = "Dinas Komunikasi dan Informatika"
    address = "Jl. Merdeka No. 1, Kota Contoh 12345"
    logo = "logo-kota-contoh.png"      # beside pelihara.toml, or an absolute path

A missing table is no organisation (`None`): the documents that need one say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pelihara.core.config import Config
from pelihara.core.errors import ConfigurationError

TABLE = "organisation"


class Organisation(BaseModel):
    """The `[organisation]` table; `logo` is made absolute (from pelihara.toml's directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    government: str = Field(min_length=1)  # "Pemerintah Kabupaten Contoh"
    unit: str = Field(min_length=1)  # the dinas: "Dinas Komunikasi dan Informatika"
    address: str = Field(min_length=1)
    city: str | None = None  # where letters are dated: "Kota Contoh, 4 Maret 2026"
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    logo: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _problem(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "?"
    if error["type"] == "extra_forbidden":
        message = f"unknown field (the fields: {', '.join(Organisation.model_fields)})"
    elif error["type"] == "missing":
        message = "missing (required)"
    else:
        message = str(error["msg"])
    return f"{field}: {message}"


def load_organisation(config: Config) -> Organisation | None:
    """CONFIG's `[organisation]`, or None without one; a malformed one names its fields,
    and a logo that is not there is refused now rather than when a letter is printed."""
    table = config.table(TABLE)
    if not table:
        return None
    try:
        found = Organisation.model_validate(dict(table))
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors(include_url=False))
        raise ConfigurationError(f"{config.path}: [{TABLE}] {problems}") from None
    if found.logo is None:
        return found
    logo = found.logo if found.logo.is_absolute() else config.path.parent / found.logo
    if not logo.is_file():
        raise ConfigurationError(f"{config.path}: [{TABLE}] logo: no such file: {logo}")
    return found.model_copy(update={"logo": logo})
