"""The agent as one file: a zipapp that runs on a server's own python3, with psutil alone.

    python3 pelihara-agent.pyz facts --format json
    python3 pelihara-agent.pyz run --interval 10

One file to copy and run, as node_exporter is one binary. It carries the rooms the agent's
import closure reaches and click (pure Python). psutil is a C extension built for the server's
own Python, so the distribution provides it (`apt-get install python3-psutil`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import zipapp
import zipfile
from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from pelihara.core.errors import ConfigurationError

# What the file carries from the installed `pelihara` package: whole rooms (folders, skipped
# when absent) and single modules of the command line (required). The agent's closure is
# `agent`, `facts`, `core` and the store writers (DESIGN.md, "Architecture").
ZIPAPP_CONTENTS: tuple[str, ...] = (
    "__init__.py",
    "agent",
    "facts",
    "core",
    "timeseries",
    "cli/__init__.py",
    "cli/agent.py",  # the commands, `facts` and `run`
    "cli/agent_file.py",  # the file's entry: those commands, and the psutil check
    "cli/tsdb.py",  # `spool`: what waits in the server's spool, and the replay
    "cli/main.py",  # pelihara's error handling (PeliharaGroup)
    "cli/app.py",
    "cli/output.py",  # tables: rich where installed, plain text here
)
# Pure-Python distributions carried whole: their package, METADATA and licence.
BUNDLED = ("click",)
LEFT_OUT = ("__pycache__", "RECORD", "INSTALLER", "REQUESTED", "direct_url.json")

INTERPRETER = "/usr/bin/env python3"
MAIN = """\
# pelihara's agent as one file (`pelihara agent package`): python3 pelihara-agent.pyz --help
import sys

if sys.version_info < (3, 11):
    sys.stderr.write("error: pelihara's agent needs Python 3.11 or newer, not %s\\n"
                     % sys.version.split()[0])
    sys.exit(2)

from pelihara.cli.agent_file import main

main()
"""
# Every entry gets the same time and mode: the same sources give the same bytes (and the same
# SHA-256), whatever the files' times, the umask or the time zone.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o100644 << 16


def build_zipapp(output: Path) -> Path:
    """Write the agent's single file to OUTPUT (replaced whole, never half-written).

    Returns OUTPUT's absolute path; ConfigurationError when it cannot be written.
    """
    archive = archive_bytes()
    target = Path(os.path.abspath(output))
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        zipapp.create_archive(archive, str(temporary), interpreter=INTERPRETER)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConfigurationError(f"cannot write {output}: {exc.strerror or exc}") from exc
    return target


def archive_bytes() -> io.BytesIO:
    """The zipapp: the `#!` line, then a zip of the contents, bundled libraries and __main__.

    Written behind the `#!` line, the zip's offsets count from the start of the file, as
    `unzip -l` expects.
    """
    archive = io.BytesIO(f"#!{INTERPRETER}\n".encode())
    archive.seek(0, io.SEEK_END)
    entries = dict(package_files())
    entries.update(library_files())
    entries["__main__.py"] = MAIN.encode()
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = ZIP_MODE
            zipped.writestr(info, entries[name], zipfile.ZIP_DEFLATED, compresslevel=9)
    archive.seek(0)
    return archive


def package_files() -> Iterator[tuple[str, bytes]]:
    """(name in the archive, content) of ZIPAPP_CONTENTS, read from the installed package."""
    root = files("pelihara")
    for entry in ZIPAPP_CONTENTS:
        found = root.joinpath(*entry.split("/"))
        if entry.endswith(".py"):
            yield f"pelihara/{entry}", found.read_bytes()
        elif found.is_dir():
            yield from _tree(found, f"pelihara/{entry}")


def _tree(folder: Traversable, prefix: str) -> Iterator[tuple[str, bytes]]:
    for child in folder.iterdir():
        if child.name in LEFT_OUT or child.name.endswith(".pyc"):
            continue
        if child.is_dir():
            yield from _tree(child, f"{prefix}/{child.name}")
        else:
            yield f"{prefix}/{child.name}", child.read_bytes()


def library_files() -> Iterator[tuple[str, bytes]]:
    """The files of the BUNDLED distributions, as installed beside pelihara."""
    for name in BUNDLED:
        distribution = importlib.metadata.distribution(name)
        listed = distribution.files or []
        if not listed:
            raise ConfigurationError(f"the installed {name} lists no files: reinstall it")
        for path in listed:  # inside site-packages only: no scripts from ../../bin
            if not (set(path.parts) & {"..", *LEFT_OUT} or path.suffix == ".pyc"):
                yield path.as_posix(), Path(str(path.locate())).read_bytes()


def sha256_hex(path: Path) -> str:
    """The SHA-256 of the file at PATH, as `sha256sum` prints it."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
