"""The files of a ticket (photos, signed scans, the report): read whole and checked before
anything is recorded, then kept once by their SHA-256 in the data directory
(`attachments/<sha256>`), never inside the database.

Reading and storing are apart on purpose: a command reads (and so checks) every file it was
given, records them, lets every gate speak, and only then stores them; a refusal leaves no
file behind.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pelihara.core.errors import ExitCode, NotFoundError, PeliharaError
from pelihara.core.paths import private_file

UNKNOWN_TYPE = "application/octet-stream"


class FileError(PeliharaError):
    """A file given cannot be read (status 3): a directory, no permission, an I/O error."""

    exit_code = ExitCode.INVALID_INPUT


@dataclass(frozen=True)
class FileContent:
    """A file read whole: its NAME (the last part of its path), CONTENT, SHA256 (hex)."""

    name: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def media_type(self) -> str:
        """`image/jpeg`, `application/pdf`, ... from the name (`mimetypes`); else
        `application/octet-stream`."""
        return mimetypes.guess_type(self.name)[0] or UNKNOWN_TYPE


def read_file(path: Path) -> FileContent:
    """PATH's content and hash, or an error naming PATH and what to do."""
    if not path.exists():
        raise NotFoundError(f"{path}: no such file; nothing was recorded")
    try:
        content = path.read_bytes()
    except OSError as error:
        raise FileError(f"{path}: cannot be read ({error.strerror or error}); "
                        "nothing was recorded") from None  # fmt: skip
    return FileContent(path.name, content, hashlib.sha256(content).hexdigest())


def read_files(paths: Iterable[Path]) -> list[FileContent]:
    """Every file of PATHS read, in order: the first one that cannot be read refuses all."""
    return [read_file(path) for path in paths]


def store_file(file: FileContent, directory: Path) -> Path:
    """Keep FILE in DIRECTORY under its SHA-256, 0600 (once: the same content twice is one
    file); return its path. Written to a temporary name then renamed: never half a file
    under a hash."""
    target = directory / file.sha256
    if not target.exists():
        temporary = private_file(directory / f".{file.sha256}.{os.getpid()}.part")
        temporary.write_bytes(file.content)
        os.replace(temporary, target)
    return target
