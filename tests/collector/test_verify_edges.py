"""`verify` at its edges: what it leaves behind in the caller's process, a database that
fails under it, checks that raise or have no data, and the per-host verdict."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from pelihara.collector.checks import verify_host
from pelihara.collector.credentials import Credentials, Secret, SnmpCredentials, SshCredentials
from pelihara.collector.expectations import Expected
from pelihara.collector.findings import Finding, Severity, Status
from pelihara.collector.probes.base import ProbeResult, Target
from pelihara.collector.probes.snmp import SnmpOptions, SnmpProbe
from pelihara.collector.verify import SNMP_TABLES
from tests.realservers.snmpd import LIMITED_COMMUNITY, SnmpAgent, running_snmpd

SIDE_EFFECTS = """
import gc, json, sys
from pathlib import Path
from pelihara import migrations
from pelihara.collector.verify import VerifyRequest, run_verify
from pelihara.inventory.db import make_engine, session_factory
from pelihara.inventory.importer import import_file
import pelihara.collector.collect, pelihara.collector.probes.ssh  # paramiko too
imported = repr(sys.modules.get("invoke", "not imported"))
engine = make_engine(sys.argv[1])
migrations.upgrade(engine)
factory = session_factory(engine)
import_file(factory, Path(sys.argv[2]), "tester")
run_verify(factory, VerifyRequest(hosts=("pltest-local",), probes=("local",)), "tester")
print(json.dumps({"invoke": imported, "frozen": gc.get_freeze_count()}))
"""


def test_importing_and_verifying_leave_the_process_as_it_was(tmp_path: Path) -> None:
    """A program that imports pelihara's collector and runs a verify keeps its `invoke`
    (before: blocked by an import of `pelihara.collector.probes`) and its garbage
    collector (before: `gc.freeze()` for good)."""
    csv = tmp_path / "one.csv"
    csv.write_text("hostname,ip,domain,opd\npltest-local,127.0.0.1,local.test,Uji\n", "utf-8")
    argv = [sys.executable, "-c", SIDE_EFFECTS, f"sqlite:///{tmp_path / 'p.db'}", str(csv)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    state = json.loads(result.stdout)
    assert state["invoke"].startswith("<module 'invoke'"), state
    assert state["frozen"] == 0


def _snmp_findings(agent: SnmpAgent, community: str, cpu_cores: int) -> list[Finding]:
    """The checks' findings from the SNMP probe alone, on the real snmpd AGENT."""
    credentials = Credentials(SshCredentials(), {"V2": SnmpCredentials("v2", "2c",
                              community=Secret(community))})  # fmt: skip
    target = Target("pltest-snmp", "pltest.test.lab", (agent.host,), snmp_port=agent.port,
                    snmp_version="2c", snmp_credential="v2")  # fmt: skip
    probe = SnmpProbe(SnmpOptions(credentials, tables=SNMP_TABLES))

    async def once() -> ProbeResult:
        try:
            return await probe.probe(target)
        finally:
            await probe.close()

    result = asyncio.run(once())
    assert result.ok, result.error
    return verify_host(Expected(target, cpu_cores=cpu_cores), {"snmp": result})


def test_snmp_cpu_cores_right_after_snmpd_starts() -> None:
    """net-snmp fills hrProcessorLoad a minute after it starts; the rows are there at once
    (hrProcessorFrwID). Before: no cpu_cores finding at all for that minute."""
    cores = os.cpu_count() or 1
    with running_snmpd() as fresh:  # probed at once
        findings = _snmp_findings(fresh, fresh.community, cores)
    [cpu] = [f for f in findings if f.check == "cpu_cores"]
    assert (cpu.status, cpu.observed) == (Status.OK, str(cores))


def test_snmp_checks_without_data_are_missing_not_absent(snmpd_server: SnmpAgent) -> None:
    """An agent whose view hides hrProcessorTable and the address tables: each check says it
    had no data (missing, info) rather than vanishing, or failing every address."""
    findings = _snmp_findings(snmpd_server, LIMITED_COMMUNITY, os.cpu_count() or 1)
    by_check = {f.check: f for f in findings}
    for check in ("cpu_cores", "ip"):
        finding = by_check[check]
        assert (finding.status, finding.severity) == (Status.MISSING, Severity.INFO), check
    assert by_check["cpu_cores"].message == "hrProcessorTable has no rows"
    assert [f.check for f in findings].count("ip") == 1
