"""A private PostgreSQL 15 cluster on 127.0.0.1 (trust auth, user postgres), one per session."""

from __future__ import annotations

import os
import pwd
import re
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.realservers.base import (
    RunningServer,
    ServerStartError,
    free_port,
    log_tail,
    make_temp_dir,
    missing,
    removed_on_error,
    require_binary,
    require_root,
    start_retrying,
    track,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")  # other initdb copies may come first on PATH
PACKAGE = "postgresql"
OS_USER = "postgres"
# Durability is worth nothing in a throw-away test cluster; speed is.
SERVER_OPTIONS = "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class PostgresServer:
    """The running cluster: `url` is a SQLAlchemy URL for database `postgres` as `postgres`."""

    host: str
    port: int
    url: str
    data_dir: Path
    server: RunningServer


def url_for(port: int, database: str = "postgres", host: str = "127.0.0.1") -> str:
    return f"postgresql+psycopg://postgres@{host}:{port}/{database}"


def _as_postgres(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ARGV as the postgres OS user (initdb refuses to run as root)."""
    command = ["su", OS_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _checked(result: subprocess.CompletedProcess[str], what: str, log: Path) -> None:
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ServerStartError(f"{what} failed ({result.returncode}): {output}\n"
                               f"--- log tail ---\n{log_tail(log)}")  # fmt: skip


def _require_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        missing(f"no {OS_USER!r} OS user: install the Debian package {PACKAGE} "
                f"(apt-get install {PACKAGE})")  # fmt: skip
        raise


def _postmaster_pid(data: Path) -> int:
    """The postmaster's PID: the first line of DATA/postmaster.pid."""
    return int((data / "postmaster.pid").read_text(encoding="ascii").splitlines()[0])


def _start_cluster(directory: Path, port: int) -> RunningServer:
    data, log = directory / "data", directory / "log"
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", OS_USER]
    initdb += ["-E", "UTF8", "--locale=C", "--no-sync"]
    _checked(_as_postgres(initdb, directory), "initdb", log)
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 {SERVER_OPTIONS}"
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options]
    started = _as_postgres([*pg_ctl, "start"], directory)
    stop = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
    stop_argv = ["su", OS_USER, "-s", "/bin/sh", "-c", shlex.join(stop)]
    if started.returncode != 0:
        subprocess.run(stop_argv, cwd=directory, capture_output=True, timeout=60, check=False)
        _checked(started, "pg_ctl start", log)
    server = RunningServer(
        "postgresql", _postmaster_pid(data), "127.0.0.1", port, directory, log, None, stop_argv
    )
    return track(server)


def start_postgresql() -> PostgresServer:
    """initdb a fresh cluster in a temp dir and start it on a free port (as user postgres)."""
    require_binary(str(PG_BIN / "initdb"), PACKAGE)
    require_root("PostgreSQL (initdb and the server run as the postgres user via su)")
    owner = _require_os_user()
    port = free_port()
    with removed_on_error(make_temp_dir("postgresql")) as directory:
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        server = _start_cluster(directory, port)
        server.wait_ready(server.listening)
    return PostgresServer(
        host=server.host,
        port=port,
        url=url_for(port),
        data_dir=directory / "data",
        server=server,
    )


@contextmanager
def running_postgresql() -> Iterator[PostgresServer]:
    """A running PostgreSQL cluster for the duration of the block."""
    pg = start_retrying(start_postgresql)
    try:
        yield pg
    finally:
        pg.server.stop()


def create_database(url: str, name: str) -> str:
    """CREATE DATABASE NAME on the server of URL; return the SQLAlchemy URL of the new database."""
    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain lower-case database name: {name!r}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)
