"""`pelihara announce`: the service-stop announcement of step 6, printed, and sent to a real
SMTP server (aiosmtpd on 127.0.0.1, STARTTLS with a certificate made here, AUTH) and then
recorded on the ticket; every refusal of the server or of the command recording nothing.
On SQLite and on the real PostgreSQL, this machine the ticket's server."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pelihara.cli.main import cli
from pelihara.core.errors import ConfigurationError
from pelihara.inventory.db import transaction
from pelihara.inventory.models import AuditEntry
from pelihara.maintenance.announce import Announcement, recipients_of
from pelihara.maintenance.announce_words import WORDS
from pelihara.maintenance.mail import MailSettings
from pelihara.maintenance.models import TicketRecord
from tests.maintenance.machine import ME, this_machine
from tests.maintenance.test_advance import OFFICIALS, _recorded
from tests.maintenance.test_tickets import LETTER
from tests.realservers.base import free_port
from tests.realservers.smtpd import Password, RunningSmtp, smtp_server

USER, PASSWORD = "datacenter", "s3cret-Pw-9f2c"  # the password searched for everywhere
WINDOW = ("--window", "2026-03-10 20:00..23:00")
SETTINGS = """
[organisation]
government = "Pemerintah Kota Contoh"
unit = "Dinas Komunikasi dan Informatika"
address = "Jl. Merdeka No. 1, Kota Contoh"
phone = "(0274) 555-123"
email = "datacenter@kota-contoh.go.id"

[[people]]
name = "Rina Marlina"
roles = ["opd"]
opd = "Dinas Uji"
phone = "0812-3456-7890"
email = "rina@dinas-uji.test"
"""
Pelihara = Callable[..., Result]


def announce_table(port: int, cafile: Path | None, recipients: str = '["simpus@uji.test"]') -> str:
    cafile_line = f'cafile = "{cafile}"' if cafile else ""
    return f"""
[announce]
host = "127.0.0.1"
port = {port}
from = "datacenter@kota-contoh.go.id"
recipients = {recipients}
{cafile_line}
timeout_seconds = 5
"""


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / "credentials.toml"
    path.write_text(f'[smtp]\nusername = "{USER}"\npassword = "{PASSWORD}"\n', encoding="utf-8")
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[RunningSmtp]:
    with smtp_server(tmp_path, Password(USER, PASSWORD)) as running:
        yield running


@pytest.fixture
def config(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """pelihara.toml: Budi (tim_data_center) runs the tests, Rina the OPD's contact, the
    organisation; this machine the server of Dinas Uji."""
    path = this_machine(db_url, factory, tmp_path, monkeypatch)
    path.write_text(path.read_text() + OFFICIALS + SETTINGS, encoding="utf-8")
    return path


def runner(db_url: str, config: Path, credentials: Path, extra: str = "") -> Pelihara:
    """`pelihara --db URL ARGS` with CONFIG (plus EXTRA, e.g. an [announce] table)."""
    if extra:
        config.write_text(config.read_text() + extra, encoding="utf-8")

    def invoke(*args: str, actor: str = "") -> Result:
        env = {"PELIHARA_CONFIG": str(config), "PELIHARA_ACTOR": actor,
               "PELIHARA_CREDENTIALS": str(credentials)}  # fmt: skip
        return CliRunner().invoke(cli, ["--db", db_url, *args], env=env)

    return invoke


def ticket_at_6(pelihara: Pelihara, factory: sessionmaker[Session], *window: str) -> str:
    """A ticket of this machine with WINDOW, steps 2 to 5 done: step 6 is next."""
    result = pelihara("ticket", "new", *LETTER, "--opd", "Dinas Uji", "--server", ME,
                      "--summary", "Ganti disk", *window)  # fmt: skip
    assert result.exit_code == 0, result.output
    ref = result.output.strip()
    _recorded(factory, ref, 2, 3, 4, 5)
    return ref


def records(factory: sessionmaker[Session]) -> list[TicketRecord]:
    with transaction(factory, commit=False) as session:
        rows = list(session.scalars(select(TicketRecord).order_by(TicketRecord.id)))
        session.expunge_all()
        return rows


def stored_text(factory: sessionmaker[Session]) -> str:
    """Every record's data and every audit entry, as text: where a password must not be."""
    with transaction(factory, commit=False) as session:
        rows = [r.data for r in session.scalars(select(TicketRecord))]
        audit = [json.dumps([e.actor, e.entity_key, e.before, e.after], default=str)
                 for e in session.scalars(select(AuditEntry))]  # fmt: skip
    return "\n".join(rows + audit)


def parsed(content: bytes) -> EmailMessage:
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


def test_the_text_says_what_stops_when_for_how_long_and_whom_to_call(
    db_url: str, config: Path, credentials: Path, factory: sessionmaker[Session]
) -> None:
    pelihara = runner(db_url, config, credentials)
    ref = ticket_at_6(pelihara, factory, *WINDOW)
    result = pelihara("announce", ref)
    assert result.exit_code == 0, result.output
    subject, blank, *body = result.output.splitlines()
    assert subject == (f"[{ref}] Pemberitahuan penghentian layanan sementara: {ME}.test.lab "
                       "(10 Maret 2026)") and blank == ""  # fmt: skip
    text = "\n".join(body)
    assert f"- {ME}.test.lab (server {ME}, alamat 127.0.0.1)" in text
    assert "Waktu: Selasa, 10 Maret 2026 pukul 20.00 s.d. 23.00 WIB" in text
    assert "Lama: 3 jam" in text
    assert ("- Budi Santoso, Tim Data Center, Dinas Komunikasi dan Informatika: telp. (0274) "
            "555-123, email datacenter@kota-contoh.go.id") in text  # fmt: skip
    assert "- Rina Marlina, Dinas Uji: telp. 0812-3456-7890, email rina@dinas-uji.test" in text
    assert f"tiket {ref}, surat 005/DINKES/III/2026 tanggal 2 Maret 2026" in text
    assert text.rstrip().endswith("Pemerintah Kota Contoh\nJl. Merdeka No. 1, Kota Contoh")
    english = pelihara("announce", ref, "--lang", "en")
    assert english.exit_code == 0, english.output
    assert "When: Tuesday, 10 March 2026 at 20:00 to 23:00 WIB" in english.output
    assert "For: 3 hours" in english.output and "letter 005/DINKES/III/2026 of 2 March 2026" \
        in english.output  # fmt: skip
    assert "- Rina Marlina, Dinas Uji: phone 0812-3456-7890, email rina@dinas-uji.test" \
        in english.output  # fmt: skip
    assert records(factory) == []  # printing records nothing


def test_a_window_over_midnight_names_both_days_and_the_length() -> None:
    wib = ZoneInfo("Asia/Jakarta")
    start, end = datetime(2026, 3, 10, 20, tzinfo=wib), datetime(2026, 3, 11, 2, 30, tzinfo=wib)
    assert WORDS["id"].span(start, end) == (
        "Selasa, 10 Maret 2026 pukul 20.00 WIB s.d. Rabu, 11 Maret 2026 pukul 02.30 WIB"
    )
    assert WORDS["id"].duration(end - start) == "6 jam 30 menit"
    assert WORDS["en"].duration(timedelta(days=1, hours=1, minutes=1)) == "1 day 1 hour 1 minute"
    assert WORDS["en"].duration(timedelta(seconds=20)) == "0 minutes"


def test_send_mails_it_over_starttls_with_the_login_and_records_it(
    db_url: str, config: Path, credentials: Path, factory: sessionmaker[Session],
    smtp: RunningSmtp, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    pelihara = runner(db_url, config, credentials, announce_table(smtp.port, smtp.cafile))
    ref = ticket_at_6(pelihara, factory, *WINDOW)
    preview = pelihara("announce", ref).output
    result = pelihara("announce", ref, "--send")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{ref}: announcement sent to simpus@uji.test, "
                                    "rina@dinas-uji.test (sha256 ")  # fmt: skip
    [mail] = smtp.received
    assert mail.mail_from == "datacenter@kota-contoh.go.id"
    assert mail.rcpt_tos == ("simpus@uji.test", "rina@dinas-uji.test")
    message = parsed(mail.content)
    subject = preview.splitlines()[0]
    assert message["Subject"] == subject and ref in subject
    body = body_of(message)
    assert preview == f"{subject}\n\n{body}"  # what is mailed is what is printed
    assert f"server {ME}, alamat 127.0.0.1" in body
    assert "Selasa, 10 Maret 2026 pukul 20.00 s.d. 23.00 WIB" in body
    [record] = records(factory)
    assert (record.kind, record.step, record.person_name) == ("announcement", 6, "Budi Santoso")
    assert json.loads(record.data) == {
        "to": ["simpus@uji.test", "rina@dinas-uji.test"], "channel": "email",
        "source": "sent", "subject": subject, "message_id": message["Message-ID"]}  # fmt: skip
    assert record.sha256 == hashlib.sha256(preview.encode("utf-8")).hexdigest()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")  # not the
    for place in (result.output, ours, stored_text(factory), mail.content.decode()):  # server
        assert PASSWORD not in place
    assert pelihara("audit", "verify").exit_code == 0
    advanced = pelihara("ticket", "advance", ref, "--step", "6")
    assert advanced.exit_code == 0, advanced.output  # step 6's gate met by the record
    again = pelihara("announce", ref, "--send")
    assert again.exit_code == 2 and "already done" in again.output
    assert len(smtp.received) == 1


def test_the_servers_refusals_and_absence_record_nothing(
    db_url: str, config: Path, credentials: Path, factory: sessionmaker[Session],
    tmp_path: Path, smtp: RunningSmtp,
) -> None:  # fmt: skip
    pelihara = runner(db_url, config, credentials)
    ref = ticket_at_6(pelihara, factory, *WINDOW)
    base = config.read_text()

    def send(table: str, creds: Path = credentials) -> Result:
        config.write_text(base + table, encoding="utf-8")
        return runner(db_url, config, creds)("announce", ref, "--send")

    wrong = tmp_path / "wrong.toml"
    wrong.write_text(f'[smtp]\nusername = "{USER}"\npassword = "not-{PASSWORD}"\n')
    os.chmod(wrong, 0o600)
    result = send(announce_table(smtp.port, smtp.cafile), wrong)
    assert result.exit_code == 2, result.output
    assert f"127.0.0.1:{smtp.port} refused the login of {USER} (535" in result.output
    assert "nothing was sent" in result.output and PASSWORD not in result.output
    result = send(announce_table(smtp.port, None))  # the system's CAs: not this certificate
    assert result.exit_code == 2 and "certificate is not trusted" in result.output
    assert "give cafile" in result.output
    with smtp_server(tmp_path / "plain", Password(USER, PASSWORD), plain=True) as plain:
        result = send(announce_table(plain.port, smtp.cafile))
        assert result.exit_code == 2 and "offers no STARTTLS" in result.output
        assert plain.received == []
    result = send(announce_table(free_port(), smtp.cafile))  # nobody listens there
    assert result.exit_code == 4, result.output
    assert "cannot be reached" in result.output and "nothing recorded" in result.output
    assert smtp.received == [] and records(factory) == []


def test_a_ticket_without_a_window_says_so_and_is_not_sent(
    db_url: str, config: Path, credentials: Path, factory: sessionmaker[Session],
    smtp: RunningSmtp,
) -> None:  # fmt: skip
    pelihara = runner(db_url, config, credentials, announce_table(smtp.port, smtp.cafile))
    ref = ticket_at_6(pelihara, factory)
    result = pelihara("announce", ref)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith("(waktu belum ditetapkan)")
    assert "Waktu: belum ditetapkan; akan diberitahukan kemudian" in result.output
    result = pelihara("announce", ref, "--send")
    assert result.exit_code == 2
    assert f"ticket {ref} has no maintenance window" in result.output
    assert f"ticket advance {ref} --step 6 --announced-to WHOM" in result.output
    assert smtp.received == [] and records(factory) == []


def test_who_sends_is_established_and_the_setting_required(
    db_url: str, config: Path, credentials: Path, factory: sessionmaker[Session],
) -> None:  # fmt: skip
    pelihara = runner(db_url, config, credentials)
    ref = ticket_at_6(pelihara, factory, *WINDOW)
    result = pelihara("announce", ref, "--send", actor="someone")
    assert result.exit_code == 2 and "--actor" in result.output
    result = pelihara("announce", ref, "--send")
    assert result.exit_code == 2 and "no [announce] table" in result.output
    result = pelihara("announce", "2026/9999")
    assert result.exit_code == 7
    assert records(factory) == []


def test_a_relay_on_this_machine_without_starttls_gets_the_mail_but_never_a_password(
    db_url: str, config: Path, credentials: Path, factory: sessionmaker[Session], tmp_path: Path,
) -> None:  # fmt: skip
    pelihara = runner(db_url, config, credentials)
    ref = ticket_at_6(pelihara, factory, *WINDOW)
    base = config.read_text()
    no_login = tmp_path / "none.toml"
    no_login.write_text("")
    os.chmod(no_login, 0o600)
    with smtp_server(tmp_path / "relay", Password(USER, PASSWORD), plain=True) as relay:
        clear = announce_table(relay.port, None) + "starttls = false\n"
        config.write_text(base + clear.replace("127.0.0.1", "smtp.example.test"))
        result = runner(db_url, config, no_login)("announce", ref, "--send")
        assert result.exit_code == 2 and "only to a relay on this machine" in result.output
        config.write_text(base + clear)
        result = runner(db_url, config, credentials)("announce", ref, "--send")
        assert result.exit_code == 2 and "never sent in clear" in result.output
        assert relay.received == [] and records(factory) == []
        result = runner(db_url, config, no_login)("announce", ref, "--send")
        assert result.exit_code == 0, result.output
        [mail] = relay.received
    assert mail.rcpt_tos == ("simpus@uji.test", "rina@dinas-uji.test")
    [record] = records(factory)
    assert json.loads(record.data)["to"] == ["simpus@uji.test", "rina@dinas-uji.test"]


def test_each_recipient_once_in_order_and_none_is_refused() -> None:
    settings = MailSettings.model_validate(
        {"host": "127.0.0.1", "from": "dc@x.test", "recipients": ["A@x.test", "b@x.test"]}
    )
    text = Announcement("2026/0001", "s", "b", contact_emails=("a@X.test", "c@x.test", "b@x.test"))
    assert recipients_of(settings, text) == ["A@x.test", "b@x.test", "c@x.test"]
    alone = settings.model_copy(update={"opd_contacts": False})
    assert recipients_of(alone, text) == ["A@x.test", "b@x.test"]
    nobody = settings.model_copy(update={"recipients": ()})
    with pytest.raises(ConfigurationError, match="no one to send to"):
        recipients_of(nobody, Announcement("2026/0001", "s", "b"))
