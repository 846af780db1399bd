"""The agent's single file, run as a server runs it: a bare Python with psutil and nothing else.

The venvs are made with `python -m venv --without-pip` from this interpreter; psutil is the
project venv's own, copied in (no network, no pip), as `apt-get install python3-psutil` puts
the distribution's in place. Each venv proves first that it lacks click and SQLAlchemy, so
the file cannot pass by borrowing them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from pelihara.agent.package import build_zipapp
from pelihara.facts.model import facts_from_json
from tests.agent import points_in_embedded_store
from tests.realservers.base import http_get, missing
from tests.realservers.victoriametrics import VictoriaMetricsServer


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_zipapp(tmp_path_factory.mktemp("pyz") / "pelihara-agent.pyz")


def bare_venv(directory: Path, psutil_too: bool) -> Path:
    """A venv without pip at DIRECTORY (with this machine's psutil if PSUTIL_TOO): its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    python = directory / "bin" / "python"
    if psutil_too:
        site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                    .stdout.strip())  # fmt: skip
        package = Path(psutil.__file__).parent
        shutil.copytree(package, site / "psutil", ignore=shutil.ignore_patterns("__pycache__"))
        for info in package.parent.glob("psutil-*.dist-info"):
            shutil.copytree(info, site / info.name)
    return python


@pytest.fixture(scope="module")
def server_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare venv's python with psutil alone, as on a server after `apt-get install`."""
    return bare_venv(tmp_path_factory.mktemp("venv") / "psutil-only", psutil_too=True)


def run(
    python: Path, *args: str | Path, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """PYTHON with ARGS, in an environment of only PATH, HOME and PELIHARA_HOME (HOME)."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    if home is not None:
        env["PELIHARA_HOME"] = str(home)
    return subprocess.run([str(python), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)  # fmt: skip


def test_the_server_python_has_psutil_and_nothing_else(server_python: Path) -> None:
    assert run(server_python, "-c", "import psutil").returncode == 0
    for module in ("click", "sqlalchemy", "rich", "pelihara"):
        missing = run(server_python, "-c", f"import {module}")
        assert missing.returncode == 1 and "ModuleNotFoundError" in missing.stderr, module


def test_facts_as_json(server_python: Path, pyz: Path) -> None:
    done = run(server_python, pyz, "facts", "--format", "json")
    assert done.returncode == 0, done.stderr
    facts = facts_from_json(done.stdout)
    assert facts.identity.hostname == socket.gethostname()
    assert facts.memory_total_bytes == psutil.virtual_memory().total


def test_facts_as_a_plain_table(server_python: Path, pyz: Path) -> None:
    done = run(server_python, pyz, "facts")
    assert done.returncode == 0, done.stderr
    assert f"\nhostname         {socket.gethostname()}\n" in done.stdout
    assert done.stdout.startswith("Server\nfact ")


def test_run_once_into_the_embedded_store(
    server_python: Path, pyz: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = run(server_python, pyz, "run", "--once", home=tmp_path)
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))
    assert points_in_embedded_store("memory") == 1
    assert points_in_embedded_store("cpu") == (os.cpu_count() or 0) + 1


def exported(
    server: VictoriaMetricsServer, selector: str, start_ms: int
) -> Iterator[dict[str, Any]]:
    """The series of SELECTOR with samples from START_MS on, read from /api/v1/export.

    `end` is given: by default it is now cut to the second, before a sample of this second.
    """
    server.force_flush()
    window = {"start": f"{start_ms / 1000:.3f}", "end": f"{time.time() + 60:.3f}"}
    query = urllib.parse.urlencode({"match[]": selector, **window})
    for line in http_get(f"{server.base_url}/api/v1/export?{query}").splitlines():
        yield json.loads(line)


def test_run_once_into_victoriametrics(
    server_python: Path, pyz: Path, tmp_path: Path, victoriametrics_server: VictoriaMetricsServer
) -> None:
    start_ms = time.time_ns() // 1_000_000
    url = f"victoriametrics://127.0.0.1:{victoriametrics_server.port}"
    done = run(server_python, pyz, "run", "--once", "--tsdb", url, home=tmp_path)
    assert done.returncode == 0, done.stderr
    selector = f'memory_total_bytes{{host="{socket.gethostname()}",source="agent"}}'
    (series,) = exported(victoriametrics_server, selector, start_ms)
    assert series["values"] == [psutil.virtual_memory().total]
    assert series["timestamps"][0] >= start_ms


def test_spool_shows_what_waits_on_the_server(
    server_python: Path, pyz: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    url = f"victoriametrics://127.0.0.1:{closed}?timeout=1"  # nobody listens: the store is down
    assert run(server_python, pyz, "run", "--once", "--tsdb", url, home=tmp_path).returncode == 4
    shown = run(server_python, pyz, "spool", "--format", "json", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    (status,) = json.loads(shown.stdout)
    assert status["writer"] == "agent" and status["pending"] > 0
    assert "memory" in {waiting["measurement"] for waiting in status["by_measurement"]}
    table = run(server_python, pyz, "spool", home=tmp_path)
    assert f"waiting     {status['pending']} points" in table.stdout
    assert "\nmeasurement " in table.stdout  # a plain table: no rich on the server


def test_influxdb_is_one_clear_line(server_python: Path, pyz: Path, tmp_path: Path) -> None:
    url = "influxdb://127.0.0.1:9?org=dc&bucket=agent"
    done = run(server_python, pyz, "run", "--once", "--tsdb", url, home=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: the influxdb:// store needs the Python package influxdb-client")


def test_without_psutil_it_says_how_to_install_it(
    pyz: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    python = bare_venv(tmp_path_factory.mktemp("venv") / "nothing", psutil_too=False)
    assert run(python, "-c", "import psutil").returncode == 1
    done = run(python, pyz, "facts")
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert (
        line.startswith("error: the agent needs psutil")
        and "apt-get install python3-psutil" in line
    )


DISTRIBUTION_PYTHON = Path("/usr/bin/python3")


def test_facts_and_run_on_the_distributions_own_python3(pyz: Path, tmp_path: Path) -> None:
    """The real target: Debian's /usr/bin/python3 with `apt-get install python3-psutil`."""
    if (
        not DISTRIBUTION_PYTHON.exists()
        or run(DISTRIBUTION_PYTHON, "-c", "import psutil").returncode
    ):
        missing("/usr/bin/python3 with psutil (Debian: apt-get install python3 python3-psutil)")
    done = run(DISTRIBUTION_PYTHON, "-I", pyz, "facts", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert facts_from_json(done.stdout).identity.hostname == socket.gethostname()
    done = run(DISTRIBUTION_PYTHON, "-I", pyz, "run", "--once", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "timeseries.db").exists()
