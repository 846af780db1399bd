"""Mail through an SMTP server: the `[announce]` settings, the credentials, one send.

pelihara.toml says where and to whom; credentials.toml (0600) holds the login:

    [announce]
    host = "smtp.kota-contoh.go.id"
    port = 587                          # default 587 (submission)
    from = "datacenter@kota-contoh.go.id"
    recipients = ["pengguna-simpus@kota-contoh.go.id"]   # in the To: header, all of them
    opd_contacts = true                 # also the ticket's OPD contacts' emails (default)
    starttls = true                     # default; false only for a relay on this machine
                                        # (localhost, 127.0.0.1, ::1), and then no password
    cafile = "/etc/pelihara/smtp-ca.pem"  # trust this CA only (a private CA); default: the system's
    timeout_seconds = 30

    # credentials.toml
    [smtp]
    username = "datacenter"
    password = "..."

The connection is upgraded with STARTTLS before anything else is said, and the server's
certificate checked against its name (`host`); a server that offers no STARTTLS is refused.
`starttls = false` sends in clear to a local relay, and then never a password. The password
goes to `SMTP.login` only: never into a message, a log, the database or the audit log.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pelihara.core.config import Config
from pelihara.core.errors import ConfigurationError, ExitCode, PeliharaError
from pelihara.core.secrets import credentials_path, read_credentials

TABLE = "announce"
CREDENTIALS = "smtp"


class MailRefused(PeliharaError):
    """The SMTP server answered but would not take the mail (status 2): no STARTTLS, a
    certificate not trusted, the login refused, a recipient refused; nothing was sent."""

    exit_code = ExitCode.USAGE


class MailUnreachable(PeliharaError):
    """The SMTP server could not be reached or dropped the connection (status 4)."""

    exit_code = ExitCode.UNREACHABLE


class MailSettings(BaseModel):
    """The `[announce]` table of pelihara.toml (see the module)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              populate_by_name=True)  # fmt: skip

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(alias="from", min_length=3)
    recipients: tuple[str, ...] = ()
    opd_contacts: bool = True
    starttls: bool = True
    cafile: Path | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)


@dataclass(frozen=True)
class Login:
    """The SMTP login of credentials.toml's `[smtp]`; the password never shown."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Login({self.username!r}, '***')"


def _problem(error: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "?"
    if error["type"] == "extra_forbidden":
        names = ", ".join(f.alias or n for n, f in MailSettings.model_fields.items())
        return f"{field}: unknown field (the fields: {names})"
    return f"{field}: {'missing (required)' if error['type'] == 'missing' else error['msg']}"


def load_mail_settings(config: Config) -> MailSettings:
    """CONFIG's `[announce]`; without one, a refusal saying what to write (status 2)."""
    table = config.table(TABLE)
    if not table:
        raise ConfigurationError(
            f"{config.path}: no [{TABLE}] table: give host, from and recipients to send "
            "(see `pelihara announce --help`)"
        )
    try:
        found = MailSettings.model_validate(dict(table))
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors(include_url=False))
        raise ConfigurationError(f"{config.path}: [{TABLE}] {problems}") from None
    if not found.starttls and not is_loopback(found.host):
        raise ConfigurationError(
            f"{config.path}: [{TABLE}] starttls = false with host {found.host}: mail goes in "
            "clear only to a relay on this machine (localhost, 127.0.0.1, ::1)"
        )
    if found.cafile is not None and not found.cafile.is_absolute():
        found = found.model_copy(update={"cafile": config.path.parent / found.cafile})
    return found


def is_loopback(host: str) -> bool:
    """Whether HOST is this machine: `localhost` or a loopback address.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("smtp.example.go.id")
    (True, True, False)
    """
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_login(env: Mapping[str, str] | None = None) -> Login | None:
    """credentials.toml's `[smtp]` username and password, or None (no login)."""
    table = read_credentials(env).get(CREDENTIALS)
    if table is None:
        return None
    where = f"{credentials_path(env)}: [{CREDENTIALS}]"
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{where} must be a table (username, password)")
    username, password = table.get("username"), table.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str):
        raise ConfigurationError(f"{where} needs username and password, both text")
    return Login(username, password)


def tls_context(settings: MailSettings) -> ssl.SSLContext:
    """The system's CAs, or only CAFILE's; the server's name checked either way."""
    try:
        return ssl.create_default_context(cafile=str(settings.cafile) if settings.cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"[{TABLE}] cafile {settings.cafile}: {exc}") from None


def _where(settings: MailSettings) -> str:
    return f"SMTP server {settings.host}:{settings.port}"


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
        else str(exc.smtp_error)  # fmt: skip
    return f"{exc.smtp_code} {' '.join(text.split())}"


def _secure(client: smtplib.SMTP, settings: MailSettings) -> None:
    """STARTTLS, or a refusal: the server must offer it and show a trusted certificate."""
    client.ehlo()
    if not client.has_extn("starttls"):
        raise MailRefused(f"{_where(settings)} offers no STARTTLS: nothing was sent (only a "
                          f"relay on this machine: starttls = false in [{TABLE}])")  # fmt: skip
    try:
        client.starttls(context=tls_context(settings))
    except ssl.SSLCertVerificationError as exc:
        raise MailRefused(f"{_where(settings)}: its certificate is not trusted "
                          f"({exc.verify_message}): nothing was sent (a private CA: give "
                          f"cafile in [{TABLE}])") from None  # fmt: skip
    except ssl.SSLError as exc:
        raise MailRefused(f"{_where(settings)}: STARTTLS failed ({exc.reason or exc}): nothing "
                          "was sent") from None  # fmt: skip
    client.ehlo()


def _login(client: smtplib.SMTP, settings: MailSettings, login: Login | None) -> None:
    if login is None:
        return
    if not settings.starttls:
        raise MailRefused(f"[{TABLE}] starttls = false: a password is never sent in clear; "
                          "remove [smtp] from credentials.toml for a local relay")  # fmt: skip
    try:
        client.login(login.username, login.password)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailRefused(f"{_where(settings)} refused the login of {login.username} "
                          f"({_reply(exc)}): nothing was sent") from None  # fmt: skip
    except smtplib.SMTPNotSupportedError:
        raise MailRefused(f"{_where(settings)} offers no AUTH: nothing was sent") from None


def _transfer(client: smtplib.SMTP, settings: MailSettings, message: EmailMessage,
              login: Login | None) -> None:  # fmt: skip
    if settings.starttls:
        _secure(client, settings)
    _login(client, settings, login)
    refused = client.send_message(message)
    if refused:
        lost = ", ".join(f"{to} ({code} {reply!r})" for to, (code, reply) in refused.items())
        raise MailRefused(f"{_where(settings)} refused some recipients: {lost}")
    client.quit()


def send(settings: MailSettings, login: Login | None, message: EmailMessage) -> None:
    """Send MESSAGE; MailRefused (2) or MailUnreachable (4) with the server's reply."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as c:
            _transfer(c, settings, message, login)
    except smtplib.SMTPRecipientsRefused as exc:
        lost = ", ".join(f"{to} ({code} {reply!r})" for to, (code, reply) in exc.recipients.items())
        raise MailRefused(f"{_where(settings)} refused every recipient: {lost}") from None
    except smtplib.SMTPResponseException as exc:
        raise MailRefused(f"{_where(settings)} refused the mail ({_reply(exc)})") from None
    except smtplib.SMTPServerDisconnected as exc:
        raise MailUnreachable(f"{_where(settings)} closed the connection ({exc}): nothing "
                              "recorded; try again") from None  # fmt: skip
    except smtplib.SMTPException as exc:  # e.g. no AUTH mechanism both sides know
        raise MailRefused(f"{_where(settings)}: {exc}; nothing was sent") from None
    except OSError as exc:  # refused, timed out, no route; TLS failures other than trust
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise MailUnreachable(f"{_where(settings)} cannot be reached ({reason}): nothing "
                              "recorded; try again when it answers") from None  # fmt: skip


def message_of(settings: MailSettings, to: Sequence[str], subject: str, body: str,
               message_id: str) -> EmailMessage:  # fmt: skip
    """A plain-text UTF-8 mail from [announce]'s `from` to TO."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = formatdate(usegmt=True)
    message.set_content(body, charset="utf-8")
    return message
