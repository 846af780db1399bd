"""Session-wide real servers on 127.0.0.1 (see tests/realservers and shared TESTING.md).

Each fixture starts its server on first use, on a free port with config and data in a temp dir,
and stops it by PID at the end of the session. A missing binary or test user skips the tests
that need it, or fails them when CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pelihara
from tests.layout import ROOMS, ROOT
from tests.realservers.dnsmasq import DnsServer, running_dnsmasq
from tests.realservers.postgresql import running_postgresql
from tests.realservers.snmpd import SnmpAgent, running_snmpd
from tests.realservers.sshd import SshServer, running_sshd
from tests.realservers.victoriametrics import (
    DEDUP_FLAG,
    VictoriaMetricsServer,
    running_victoriametrics,
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to run against an editable install that lacks a module of the checkout.

    The strict editable install links each module under build/; a module added since the
    install would otherwise fail to import with a confusing error.
    """
    installed = Path(pelihara.__path__[0])
    unlinked = [
        f"{path.relative_to(ROOT)}"
        for room in ROOMS
        for path in (ROOT / room).rglob("*.py")
        if not (installed / path.relative_to(ROOT)).exists()
    ]
    if unlinked:
        pytest.exit(
            f"not in the editable install: {', '.join(sorted(unlinked))}; run scripts/test, or "
            ".venv/bin/pip install -e '.[test]' --config-settings editable_mode=strict",
            returncode=2,
        )


TEST_AUDIT_KEY = "pelihara-test-audit-key-0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test reads or writes the real user's files: PELIHARA_HOME is a session directory
    and the audit key a test key for every fixture, also the module-scoped ones that run
    before `audit_key` (a test that wants other values sets its own)."""
    home = tmp_path_factory.mktemp("pelihara-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PELIHARA_HOME", str(home))
        patch.setenv("PELIHARA_AUDIT_KEY", TEST_AUDIT_KEY)
        yield home


@pytest.fixture(autouse=True)
def audit_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The audit log's MAC key for every test (PELIHARA_AUDIT_KEY): nothing is appended without
    one, and no test reads the key of the user who runs the tests. Tests of a missing key
    delete the variable."""
    monkeypatch.setenv("PELIHARA_AUDIT_KEY", TEST_AUDIT_KEY)
    return TEST_AUDIT_KEY


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SshServer]:
    """OpenSSH sshd: key login as the non-root user `sshtest`, host key in a known_hosts file."""
    with running_sshd() as server:
        yield server


@pytest.fixture(scope="session")
def sshd_every_key_type() -> Iterator[SshServer]:
    """sshd with RSA, ECDSA and Ed25519 host keys, as Debian and RHEL generate them."""
    with running_sshd(host_keys=("rsa", "ecdsa", "ed25519")) as server:
        yield server


@pytest.fixture(scope="session")
def snmpd_server() -> Iterator[SnmpAgent]:
    """net-snmp snmpd: v2c community, v3 SHA/AES user, sysName and a faked ENTITY-MIB entry."""
    with running_snmpd() as agent:
        yield agent


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    """dnsmasq serving the `test.lab` zone: A records, their PTRs and a CNAME."""
    with running_dnsmasq() as server:
        yield server


@pytest.fixture(scope="session")
def victoriametrics_server() -> Iterator[VictoriaMetricsServer]:
    """VictoriaMetrics single-node with an empty data dir, run with `-dedup.minScrapeInterval=1ms`.

    VictoriaMetrics does not de-duplicate by default: a sample written twice (same series and
    timestamp) is stored and exported twice. With the flag it keeps one per series and
    millisecond (the last written), which the spool's replay after a crash relies on -- a
    production server needs the same flag (see timeseries/victoria.py).
    """
    with running_victoriametrics(extra_flags=[DEDUP_FLAG]) as server:
        yield server


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """SQLAlchemy URL `postgresql+psycopg://postgres@127.0.0.1:PORT/postgres` of a private cluster.

    For an empty database per test: `tests.realservers.postgresql.create_database(url, name)`.
    """
    with running_postgresql() as server:
        yield server.url
