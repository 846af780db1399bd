"""A real SMTP server on 127.0.0.1: aiosmtpd, in this process (its Controller's thread),
with STARTTLS (a self-signed certificate for 127.0.0.1 made here with `cryptography`) and
AUTH checked against one username and password; every mail it takes is kept in `received`.

`plain=True` starts it without TLS (then it offers no STARTTLS, and no AUTH either)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.realservers.base import HOST, free_port


@dataclass(frozen=True)
class Mail:
    """One mail the server took: the envelope's sender and recipients, the raw message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes


@dataclass
class Inbox:
    """aiosmtpd's handler: keeps each mail taken."""

    received: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(Mail(str(envelope.mail_from), tuple(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Password:
    """aiosmtpd's authenticator: USERNAME with PASSWORD, nothing else."""

    username: str
    password: str

    def __call__(self, server: SMTPServer, session: Session, envelope: Envelope,
                 mechanism: str, auth_data: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A key and a certificate for 127.0.0.1 (its own CA), as PEM files in DIRECTORY."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pelihara test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
                ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))  # fmt: skip
    key_path, cert_path = directory / "smtp-key.pem", directory / "smtp-cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@dataclass(frozen=True)
class RunningSmtp:
    """The started server: where it listens, its certificate (the client's cafile), the
    mails it took."""

    port: int
    cafile: Path
    inbox: Inbox

    @property
    def received(self) -> list[Mail]:
        return self.inbox.received


@contextmanager
def smtp_server(directory: Path, login: Password, plain: bool = False) -> Iterator[RunningSmtp]:
    """aiosmtpd on a free port of 127.0.0.1 (see the module), stopped on leaving."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = self_signed(directory)
    inbox = Inbox()
    kwargs: dict[str, Any] = {"authenticator": login, "auth_required": not plain}
    if not plain:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs.update(tls_context=context, require_starttls=True)
    controller = Controller(inbox, hostname=HOST, port=free_port(), **kwargs)
    controller.start()
    try:
        yield RunningSmtp(controller.port, cert, inbox)
    finally:
        controller.stop()
