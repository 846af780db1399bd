"""`ticket show` says each step's evidence (linked, missing, ready, waiting); a second SOP
file in the configuration's sops/ is walked without code; a server that does not answer
blocks step 4; a tampered audit entry of a ticket is found by `audit verify`. This machine
is the OPD's server (`--probe local`, and `--probe ssh` to a closed port), on SQLite and on
the real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.collector.models import VerifyFinding, VerifyRun
from pelihara.core.config import load_config
from pelihara.inventory.audit import AuditLog
from pelihara.inventory.db import transaction
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import AuditEntry
from pelihara.maintenance.models import Ticket
from pelihara.maintenance.people import load_people
from pelihara.maintenance.records import NewRecord, RecordedBy, add_record
from pelihara.maintenance.ticket_sop import ticket_sops
from tests.inventory.tamper import tamper
from tests.maintenance.machine import ME
from tests.maintenance.test_advance import ANDI, OFFICIALS, SARI
from tests.maintenance.test_tickets import LETTER, _people

Invoke = Callable[..., Result]

PENARIKAN = """\
# A related SOP of the data center, added as a file: no code knows its steps.
schema: 1
name: penarikan-server
title:
  id: Penarikan Server dari Data Center
  en: Withdrawing a server from the data center
number: 07/SOP/CONTOH/2026
revision: "01"
related:
  - SOP Pemeliharaan Server
steps:
  - number: 1
    name: {id: Surat permohonan penarikan server dari OPD, en: The OPD's letter}
    role: opd
    service_level_days: 1
    evidence: []
    output: Surat Permohonan
  - number: 2
    name: {id: Kepala Bidang menugaskan Tim Data Center, en: The Kepala Bidang assigns staff}
    role: kepala_bidang
    service_level_days: 1
    output: Disposisi
  - number: 3
    name: {id: Tim Data Center memeriksa server yang ditarik, en: The staff verify the server}
    role: tim_data_center
    with: [opd]
    service_level_days: 2
    evidence: [verification_run]
    output: Data
  - number: 4
    name: {id: Kepala Dinas menerima laporan penarikan, en: The Kepala Dinas receives it}
    role: kepala_dinas
    service_level_days: 1
    evidence: [receipt]
    output: Dokumen
"""


def _closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _machine(db_url: str, factory: sessionmaker[Session], tmp_path: Path,
             ssh_port: int) -> Path:  # fmt: skip
    """This machine as Dinas Uji's server, its SSH at SSH_PORT of 127.0.0.1; the people."""
    path = tmp_path / "inventory.csv"
    path.write_text("hostname,ip,domain,opd,ssh_port,ssh_user\n"
                    f"{ME},127.0.0.1,{ME}.test.lab,Dinas Uji,{ssh_port},pelihara\n")  # fmt: skip
    import_file(factory, path, "tester")
    config = _people(tmp_path, make_url(db_url).username or "postgres")
    config.write_text(config.read_text() + OFFICIALS, encoding="utf-8")
    return config


@pytest.fixture
def config(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PELIHARA_TSDB", raising=False)
    return _machine(db_url, factory, tmp_path, _closed_port())


@pytest.fixture
def pelihara(db_url: str, config: Path) -> Invoke:
    """`pelihara --db URL ARGS` as Budi (tim_data_center), this machine the OPD's server."""

    def invoke(*args: str) -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": ""}
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    return invoke


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "disposisi.pdf"
    path.write_bytes(b"%PDF-1.4 signed on paper\n")
    return path


def _ticket(pelihara: Invoke, *more: str) -> str:
    result = pelihara("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
                      "--summary", "Ganti disk", *more)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _advance(pelihara: Invoke, ref: str, step: int, *more: str) -> Result:
    return pelihara("ticket", "advance", ref, "--step", str(step), *more)


def _steps(pelihara: Invoke, ref: str) -> list[dict[str, Any]]:
    shown = pelihara("ticket", "show", ref, "--format", "json")
    assert shown.exit_code == 0, shown.output
    return list(json.loads(shown.stdout)["steps"])


def _verify(pelihara: Invoke, ref: str, probe: str = "local") -> Result:
    result = pelihara("verify", "run", ME, "--probe", probe, "--ticket", ref)
    assert result.exit_code in (0, 1, 4), result.output
    return result


def _announce(factory: sessionmaker[Session], config: Path, ref: str) -> None:
    """An announcement record for step 6, as the step-6 command will add it."""
    person = load_people(load_config(config)).people[0]
    with transaction(factory) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        add_record(session, AuditLog(session, person.name), ticket,
                   RecordedBy(person, "OS user test"),
                   NewRecord("announcement", 6, {"to": ["Dinas Uji"]}),
                   datetime.now(UTC))  # fmt: skip


def test_show_links_each_steps_evidence_and_names_what_the_next_step_misses(
    pelihara: Invoke, factory: sessionmaker[Session], config: Path, scan: Path
) -> None:
    ref = _ticket(pelihara)
    assert _steps(pelihara, ref)[1]["evidence_status"] == "none needed"
    for step, official in ((2, ANDI), (3, SARI)):
        assert _advance(pelihara, ref, step, *official, "--attach", str(scan)).exit_code == 0
    steps = _steps(pelihara, ref)
    digest = hashlib.sha256(scan.read_bytes()).hexdigest()
    assert steps[1]["evidence_status"] == "recorded"
    assert steps[1]["evidence"] == [{"kind": "scan", "sha256": digest}]
    assert steps[3]["evidence_status"] == "missing"
    assert steps[3]["missing"] == [f"{ME}: no verification run of ticket {ref} looked at it "
                                   f"(`pelihara verify run {ME} --ticket {ref}`)"]  # fmt: skip
    assert (steps[4]["evidence_status"], steps[4]["missing"]) == ("waiting", [])
    _verify(pelihara, ref)
    steps = _steps(pelihara, ref)
    assert (steps[3]["evidence_status"], steps[3]["missing"]) == ("ready", [])
    assert _advance(pelihara, ref, 4).exit_code == 0
    pre = pelihara("snapshot", "take", ME, "--probe", "local", "--ticket", ref, "--phase", "pre")
    assert pre.exit_code == 0, pre.output
    _announce(factory, config, ref)
    steps = _steps(pelihara, ref)
    (run,) = steps[3]["evidence"]
    with transaction(factory, commit=False) as session:
        run_id = session.scalars(select(VerifyRun.id).where(VerifyRun.ticket == ref)).one()
        statuses = list(session.scalars(select(VerifyFinding.status)))
    assert (steps[3]["evidence_status"], run["kind"], run["run"]) == (
        "recorded",
        "verification_run",
        run_id,
    )
    assert sum(run["hosts"][ME].values()) == len(statuses) > 0
    assert steps[4]["evidence_status"] == "missing" and steps[4]["missing"]  # step 5's gate
    (announced,) = steps[5]["evidence"]
    assert (announced["kind"], announced["data"], announced["step"]) == (
        "announcement", {"to": ["Dinas Uji"]}, 6)  # fmt: skip
    (snapshots,) = steps[6]["evidence"]
    assert (snapshots["host"], snapshots["post_snapshot"], snapshots["diff"]) == (ME, None, None)
    assert isinstance(snapshots["pre_snapshot"], int) and steps[6]["evidence_status"] == "waiting"
    table = pelihara("ticket", "show", ref)
    assert table.exit_code == 0, table.output
    assert f"step 4: verify run {run_id}: {ME} " in table.output
    assert f"step 2: scan {digest[:12]}…" in table.output
    assert "step 6: announcement to Dinas Uji (record" in table.output
    assert f"step 7: {ME}: pre snapshot {snapshots['pre_snapshot']}, post snapshot none" \
        in table.output  # fmt: skip
    assert "Missing for step 5 (" in table.output


def test_a_server_that_does_not_answer_blocks_step_4_until_a_run_reaches_it(
    pelihara: Invoke, factory: sessionmaker[Session], scan: Path
) -> None:
    ref = _ticket(pelihara)
    for step, official in ((2, ANDI), (3, SARI)):
        assert _advance(pelihara, ref, step, *official, "--attach", str(scan)).exit_code == 0
    _verify(pelihara, ref, probe="ssh")  # its SSH port answers nothing
    with transaction(factory, commit=False) as session:
        run_id = session.scalars(select(VerifyRun.id).where(VerifyRun.ticket == ref)).one()
        found = list(session.scalars(select(VerifyFinding.status)
                                     .where(VerifyFinding.run_id == run_id)))  # fmt: skip
    assert "unreachable" in found
    refused = _advance(pelihara, ref, 4)
    assert refused.exit_code == 3, refused.output
    assert f"{ME}: ssh did not reach it in verification run {run_id}" in refused.output
    assert f"{ME}: ssh did not reach it" in _steps(pelihara, ref)[3]["missing"][0]
    _verify(pelihara, ref, probe="local")  # a later run reaches it
    result = _advance(pelihara, ref, 4)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{ref}: step 4 done"


def test_a_second_sop_file_is_walked_to_its_last_step_without_code(
    pelihara: Invoke, config: Path, scan: Path
) -> None:
    (config.parent / "sops").mkdir()
    sop_file = config.parent / "sops" / "penarikan-server.yaml"
    sop_file.write_text(PENARIKAN, encoding="utf-8")
    listed = pelihara("sop", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert "penarikan-server" in [entry["name"] for entry in json.loads(listed.output)]
    ref = _ticket(pelihara, "--sop", "penarikan-server")
    shown = json.loads(pelihara("ticket", "show", ref, "--format", "json").output)
    assert (shown["sop"], shown["sop_revision"], len(shown["steps"])) == (
        "penarikan-server", "01", 4)  # fmt: skip
    assert _advance(pelihara, ref, 2).exit_code == 2  # kepala_bidang's step, Budi is staff
    assert _advance(pelihara, ref, 2, *SARI, "--attach", str(scan)).exit_code == 0
    refused = _advance(pelihara, ref, 3)
    assert refused.exit_code == 3  # its gate holds, under this SOP's step 3
    assert f"{ME}: no verification run of ticket {ref} looked at it" in refused.output
    _verify(pelihara, ref)
    assert _advance(pelihara, ref, 3).exit_code == 0
    assert _steps(pelihara, ref)[3]["evidence_status"] == "ready"
    closed = _advance(pelihara, ref, 4, *ANDI, "--attach", str(scan))
    assert closed.exit_code == 0 and "(ticket closed)" in closed.output, closed.output
    listed = json.loads(pelihara("ticket", "list", "--format", "json").output)
    assert [(t["reference"], t["status"], t["next_step"]) for t in listed] == [(ref, "done", None)]
    assert pelihara("audit", "verify").exit_code == 0


def test_a_tickets_sop_revised_is_warned_and_gone_is_refused_naming_it(
    pelihara: Invoke, config: Path
) -> None:
    sops = config.parent / "sops"
    sops.mkdir()
    (sops / "penarikan.yaml").write_text(PENARIKAN, encoding="utf-8")
    ref = _ticket(pelihara, "--sop", "penarikan-server")
    assert "warning" not in pelihara("ticket", "show", ref).stderr
    (sops / "penarikan.yaml").write_text(PENARIKAN.replace('"01"', '"02"'), encoding="utf-8")
    shown = pelihara("ticket", "show", ref)
    assert shown.exit_code == 0
    assert (f"ticket {ref} was opened under SOP penarikan-server revision 01; its file is now "
            "revision 02") in shown.stderr  # fmt: skip
    listed = pelihara("ticket", "list")
    assert listed.exit_code == 0 and listed.stderr.count("warning:") == 1
    (sops / "penarikan.yaml").write_text(PENARIKAN.replace("role: kepala_bidang", "role: x"))
    broken = pelihara("ticket", "show", ref)
    assert broken.exit_code == 2 and "cannot be read:" in broken.stderr
    assert "penarikan.yaml:20 [step 2 role]" in broken.stderr  # the file's own problem
    (sops / "penarikan.yaml").rename(sops / "penarikan-server.yaml")  # named as the SOP
    broken = pelihara("ticket", "show", ref)
    assert broken.exit_code == 2 and "penarikan-server.yaml:20 [step 2 role]" in broken.stderr
    (sops / "penarikan-server.yaml").unlink()
    for command in (("ticket", "show", ref), ("ticket", "advance", ref, "--step", "2")):
        gone = pelihara(*command)
        assert gone.exit_code == 2, gone.output
        assert f"ticket {ref} walks SOP 'penarikan-server' (revision 01)" in gone.stderr
    unknown = pelihara("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
                       "--summary", "x", "--sop", "colocation")  # fmt: skip
    assert unknown.exit_code == 7 and "no SOP named 'colocation'" in unknown.output


def test_ticket_sops_reads_each_sop_once_and_warns_once(tmp_path: Path) -> None:
    warned: list[str] = []
    sop_of = ticket_sops(tmp_path, warned.append)
    ticket = Ticket(reference="2026/0001", sop_name="pemeliharaan-server", sop_revision="01")
    assert sop_of(ticket) is sop_of(ticket)
    assert warned == ["ticket 2026/0001 was opened under SOP pemeliharaan-server revision 01; "
                      "its file is now revision 02: the ticket is shown and advanced by the "
                      "steps of revision 02"]  # fmt: skip


def test_a_tampered_audit_entry_of_a_ticket_is_found_by_audit_verify(
    pelihara: Invoke, engine: Engine, factory: sessionmaker[Session], scan: Path
) -> None:
    ref = _ticket(pelihara)
    assert _advance(pelihara, ref, 2, *ANDI, "--attach", str(scan)).exit_code == 0
    assert pelihara("audit", "verify").exit_code == 0
    with transaction(factory, commit=False) as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "ticket", AuditEntry.action == "advance")).one()  # fmt: skip
        seq, after = entry.seq, dict(entry.after or {})
    assert after["on_behalf_of"] == "Dr. Andi Wijaya"
    forged = json.dumps({**after, "on_behalf_of": "Sari Dewi"}).replace("'", "''")
    tamper(engine, f"UPDATE audit_log SET after = '{forged}' WHERE seq = {seq}")
    broken = pelihara("audit", "verify")
    assert broken.exit_code == 1
    assert f"broken at entry {seq}" in broken.stderr
