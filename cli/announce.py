"""`pelihara announce`: the service-stop announcement of a ticket (SOP step 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from pelihara.cli.app import App

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pelihara.maintenance.announce import Sending, Setting


@click.command("announce")
@click.argument("reference", metavar="TICKET")
@click.option("--send", is_flag=True,
              help="Mail it to the recipients of [announce], record it on the ticket.")  # fmt: skip
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="Bahasa Indonesia or English.")  # fmt: skip
@click.pass_obj
def announce(app: App, reference: str, send: bool, lang: str) -> None:
    """The announcement that a ticket's services stop (SOP step 6).

    Which services stop (the ticket's servers: domain, hostname, addresses),
    when (the ticket's --window, in the data center's zone), for how long,
    whom to contact (you, of the Tim Data Center, and the OPD's contacts in
    pelihara.toml), the ticket and the OPD's letter. Without --send it is
    printed, subject first, and nothing is recorded.

    \b
      pelihara announce 2026/0001                 print it (Bahasa Indonesia)
      pelihara announce 2026/0001 --lang en       in English
      pelihara announce 2026/0001 --send          mail it, record it
      pelihara ticket advance 2026/0001 --step 6  then step 6 passes its gate

    \b
    --send mails it through the SMTP server of pelihara.toml, with STARTTLS
    (a server offering none is refused; starttls = false only for a relay on
    this machine, and then without a password); the login from
    credentials.toml (0600):
      [announce]                        # pelihara.toml
      host = "smtp.kota-contoh.go.id"
      port = 587
      from = "datacenter@kota-contoh.go.id"
      recipients = ["simpus@dinkes.kota-contoh.go.id"]
      opd_contacts = true               # also the OPD contacts' emails
      cafile = "smtp-ca.pem"            # a private CA (default: the system's)
      [smtp]                            # credentials.toml
      username = "datacenter"
      password = "..."

    Once the server took it, the ticket records it (step 6's evidence): to
    whom, the subject, the Message-ID and the text's SHA-256, audited. A
    ticket without a window is not sent. You are the person pelihara.toml
    maps to your OS user (on PostgreSQL, your database login role), with the
    role tim_data_center; --actor is refused with --send.

    Exit status: 0 printed or sent; 2 refused (not configured, wrong role,
    --actor, no [announce], no recipients, ticket closed, step 6 done, no
    window, the server refused: no STARTTLS, untrusted certificate, login,
    recipient); 4 the SMTP server unreachable (nothing recorded); 6 a
    database error; 7 no such ticket.
    """
    from pelihara.maintenance.actor import refuse_free_actor

    if send:
        refuse_free_actor(app.actor, "sending the announcement (step 6)")
        click.echo(_send(app, reference, _sending(app, lang)))
        return
    click.echo(_preview(app, reference, lang), nl=False)


def _setting(app: App, session: Session) -> Setting:
    """Who you are (the Tim Data Center member named as a contact) and the configuration."""
    from pelihara.maintenance.actor import establish, identity, require_role
    from pelihara.maintenance.announce import Setting
    from pelihara.maintenance.organisation import load_organisation
    from pelihara.maintenance.people import load_people

    people = load_people(app.config)
    staff = establish(people, identity(session))
    require_role(staff, "tim_data_center", "the announcement (step 6)")
    return Setting(people, load_organisation(app.config), app.zone, staff)


def _preview(app: App, reference: str, lang: str) -> str:
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.announce import compose
    from pelihara.maintenance.tickets import find_ticket

    with transaction(app.sessions(read_only=True), commit=False) as session:
        setting = _setting(app, session)
        return compose(session, find_ticket(session, reference), setting, lang).text


def _sending(app: App, lang: str) -> Sending:
    """The settings and the login, read (and refused) before the database is touched."""
    from pelihara.maintenance.announce import Sending
    from pelihara.maintenance.mail import load_login, load_mail_settings

    return Sending(load_mail_settings(app.config), load_login(), lang)


def _send(app: App, reference: str, sending: Sending) -> str:
    """Send and record in one transaction: who you are, the checks, the mail, the record."""
    from pelihara.inventory.db import transaction
    from pelihara.maintenance.actor import identity
    from pelihara.maintenance.announce import announce_and_record, sent_text
    from pelihara.maintenance.records import RecordedBy
    from pelihara.maintenance.sop_file import packaged_sop
    from pelihara.maintenance.tickets import find_ticket

    with transaction(app.sessions()) as session:
        setting = _setting(app, session)
        by = RecordedBy(setting.staff, identity(session).describe())
        found = find_ticket(session, reference)
        record = announce_and_record(session, found, packaged_sop(), by, setting, sending,
                                     datetime.now(UTC))  # fmt: skip
        return sent_text(found, record, _to(record.data))


def _to(data: str) -> list[str]:
    import json

    return list(json.loads(data)["to"])
