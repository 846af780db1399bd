"""The SSH probe (paramiko): one connection and one exec channel per host for all facts.

The remote command is the fixed text `pelihara.facts.bundle.BUNDLE` (it runs `pelihara agent
facts` where installed, else a read-only bundle of commands); no inventory value is ever
put into it. The host key is checked BEFORE authentication, against known_hosts and the
keys recorded in the inventory (`collector.probes.ssh_host_keys`): an unknown key is
refused unless trust on first use was asked for, and a changed key is always refused and
reported as a security finding. Timeouts: connecting, the handshake and authentication,
and the whole answer of the command.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from pelihara.collector.credentials import Secret, SshCredentials
from pelihara.collector.probes.base import KnownHostKey, ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.known_hosts import KnownHosts
from pelihara.collector.probes.ssh_host_keys import (
    DEFAULT_PORT,
    HostKeyCheck,
    HostKeyRefused,
    HostKeyTransport,
)
from pelihara.facts.bundle import BUNDLE, parse_bundle
from pelihara.facts.model import Facts, facts_to_dict

# AES-GCM first: an AEAD cipher checks its tag in C, where the -ctr ciphers' HMAC is compared
# byte by byte in Python for every packet. Nothing is added; the other ciphers stay as fallback.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
KEY_SETTING = "key_file in credentials.toml, or PELIHARA_SSH_KEY_FILE"
# A server's whole answer, at most: the facts of a large server are a few MiB (packages,
# services, mounts); past this the server is broken or hostile, and is not read further.
MAX_OUTPUT_BYTES = 32 * 1024 * 1024
NO_KEY = (
    "no SSH key: the ssh-agent holds none (is SSH_AUTH_SOCK set, and did ssh-add run?); "
    f"or set {KEY_SETTING}"
)


@dataclass(frozen=True)
class SshOptions:
    credentials: SshCredentials
    known_hosts: tuple[Path, ...] = (Path("~/.ssh/known_hosts"),)
    trust_new_host_keys: bool = False
    default_user: str = "root"
    connect_timeout: float = 5.0
    auth_timeout: float = 10.0
    command_timeout: float = 60.0
    concurrency: int = 32
    max_output_bytes: int = MAX_OUTPUT_BYTES


class HostFailure(Exception):
    """A per-host failure, turned into a `ProbeResult` (never raised out of the probe)."""

    def __init__(self, status: ProbeStatus, message: str, security: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.security = security


def _where(target: Target) -> str:
    """The address and port a reach message names: `10.20.13.11 port 22`."""
    return f"{target.address} port {target.ssh_port or DEFAULT_PORT}"


def _connect(target: Target, options: SshOptions) -> socket.socket:
    port = target.ssh_port or DEFAULT_PORT
    try:
        sock = socket.create_connection((target.address, port), timeout=options.connect_timeout)
    except TimeoutError:
        message = f"timed out connecting to {_where(target)}"
        raise HostFailure(ProbeStatus.UNREACHABLE, message) from None
    except OSError as exc:
        message = f"{_where(target)}: {exc.strerror or exc}"
        raise HostFailure(ProbeStatus.UNREACHABLE, message) from None
    # paramiko leaves Nagle on; with it, each small handshake packet waits for an ACK (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _KeyFile:
    """The private key file, read once per probe rather than once per host: ~0.4 ms of CPU
    for a plain key, ~0.3 s for one with a passphrase (bcrypt, and paramiko reads it twice).
    A failure to read it is kept, and every host gets it."""

    def __init__(self, path: Path, passphrase: Secret | None) -> None:
        self.path, self._passphrase = path, passphrase
        self._lock = threading.Lock()
        self._loaded: paramiko.PKey | tuple[ProbeStatus, str] | None = None

    def key(self) -> paramiko.PKey:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
        if isinstance(self._loaded, tuple):
            raise HostFailure(*self._loaded)
        return self._loaded

    def _load(self) -> paramiko.PKey | tuple[ProbeStatus, str]:
        # paramiko 5 hands the passphrase to `cryptography`, which refuses str ("password
        # must be bytes") though paramiko's signature says str.
        passphrase = self._passphrase.reveal().encode() if self._passphrase else None
        try:
            return paramiko.PKey.from_path(self.path, password=passphrase)  # type: ignore[arg-type]
        except paramiko.PasswordRequiredException:
            return ProbeStatus.ERROR, "the SSH key needs a passphrase"
        except TypeError as exc:  # how `cryptography` says a passphrase is missing or extra
            if passphrase is None:
                return ProbeStatus.ERROR, "the SSH key needs a passphrase"
            return ProbeStatus.ERROR, self._cannot(exc)
        except (OSError, ValueError, paramiko.SSHException) as exc:
            return ProbeStatus.ERROR, self._cannot(exc)

    def _cannot(self, exc: Exception) -> str:
        """Why the key cannot be loaded, naming neither its path (a secret: it says where the
        key lives) nor the passphrase; a wrong passphrase reads as "not a private key"."""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        reason = reason.replace(str(self.path), "the key file") or type(exc).__name__
        return f"cannot load the SSH key ({KEY_SETTING}): {reason}"


def _private_keys(key_file: _KeyFile | None, use_agent: bool) -> list[paramiko.PKey]:
    keys: list[paramiko.PKey] = []
    if key_file is not None:
        keys.append(key_file.key())
    if use_agent:
        # An agent connection per host: paramiko's is not safe for threads signing at once.
        keys.extend(paramiko.Agent().get_keys())
    return keys


def _authenticate(transport: paramiko.Transport, user: str, keys: list[paramiko.PKey]) -> None:
    if not keys:
        raise HostFailure(ProbeStatus.ERROR, NO_KEY)
    for key in keys:
        try:
            transport.auth_publickey(user, key)
        except paramiko.AuthenticationException:
            continue
        if transport.is_authenticated():
            return
    raise HostFailure(ProbeStatus.REFUSED, f"authentication refused for user {user!r}")


def _handshake(transport: paramiko.Transport, timeout: float, where: str) -> None:
    """The SSH handshake with WHERE; paramiko's `start_client` returns quietly when its
    timeout passes."""
    transport.start_client(timeout=timeout)
    if not (transport.is_active() and transport.initial_kex_done):
        message = f"no SSH handshake within {timeout:g} s from {where} (not an SSH server?)"
        raise HostFailure(ProbeStatus.UNREACHABLE, message)


def _run_script(
    transport: paramiko.Transport, script: str, timeout: float, max_bytes: int = MAX_OUTPUT_BYTES
) -> str:
    """The script's whole output, read within TIMEOUT seconds and at most MAX_BYTES long."""
    channel = transport.open_session(timeout=timeout)
    # The script goes on stdin to a fixed `sh -s`: it runs the same under any login shell
    # (zsh, csh), and nothing of it is ever part of a command line.
    channel.exec_command("sh -s")
    channel.sendall(script.encode("utf-8"))
    channel.shutdown_write()
    chunks = []
    size = 0
    deadline = time.monotonic() + timeout  # for the whole answer, not each read
    try:
        while True:
            channel.settimeout(max(deadline - time.monotonic(), 0.001))
            data = channel.recv(65536)
            if not data:
                break
            size += len(data)
            if size > max_bytes:
                message = f"the answer is longer than {max_bytes:,} bytes: not read further"
                raise HostFailure(ProbeStatus.ERROR, message)
            chunks.append(data)
    except TimeoutError:
        raise HostFailure(ProbeStatus.ERROR, f"no complete answer within {timeout:g} s") from None
    finally:
        channel.close()
    return b"".join(chunks).decode("utf-8", "replace")


class ProbeTransport(HostKeyTransport):
    """The transport of one probe session: paramiko's, less two costs a one-shot session
    does not need (together ~0.1 ms of CPU a host):

    - no handshake timer: paramiko starts a `threading.Timer` (a thread) per connection to
      bound the first key exchange; `_handshake` bounds it already (`start_client`'s
      timeout, after which the session is closed and its thread ends);
    - a server's debug message (OpenSSH sends the key's options after authentication) is
      read and dropped, not escaped byte by byte in Python for a debug log that is off; it
      is logged as before when paramiko's logger has DEBUG on.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.packetizer.start_handshake = _no_timer  # type: ignore[method-assign]

    def _parse_debug(self, m: paramiko.Message) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            super()._parse_debug(m)  # type: ignore[misc]


def _no_timer(timeout: float) -> None:
    """Packetizer.start_handshake without its timer thread (see `ProbeTransport`)."""


def _prefer_ciphers(security: paramiko.SecurityOptions) -> None:
    rest = tuple(c for c in security.ciphers if c not in PREFERRED_CIPHERS)
    security.ciphers = tuple(c for c in PREFERRED_CIPHERS if c in security.ciphers) + rest


class SshProbe:
    """Facts over SSH; blocking paramiko work runs in a thread pool of `concurrency` threads.

    Subclasses read something else by changing `script` (fixed text) and `read`.
    """

    name = "ssh"
    script = BUNDLE

    def __init__(self, options: SshOptions, script: str | None = None) -> None:
        self.options = options
        self.script = script or type(self).script
        self._known = KnownHosts(options.known_hosts)
        credentials = options.credentials
        self._key_file = (
            _KeyFile(credentials.key_file, credentials.passphrase) if credentials.key_file else None
        )
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="ssh")
        self._open: set[paramiko.Transport] = set()  # the sessions in progress
        self._open_lock = threading.Lock()

    async def probe(self, target: Target) -> ProbeResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.probe_blocking, target)

    async def close(self) -> None:
        """Stop: hosts not started are dropped, sessions in progress closed (their threads
        end at once rather than at their timeouts, so Ctrl-C does not wait for them)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._open_lock:
            for transport in self._open:
                transport.close()

    def read(self, text: str) -> tuple[dict[str, Any], Facts | None]:
        """The script's output as (data, facts); raises ValueError when it cannot be read."""
        facts = parse_bundle(text)
        return {"facts": facts_to_dict(facts)}, facts

    def probe_blocking(self, target: Target) -> ProbeResult:
        try:
            (seen, new), text = self._session(target)
            data, facts = self.read(text)
        except HostFailure as failure:
            security = (failure.security,) if failure.security else ()
            return ProbeResult(target.hostname, self.name, failure.status, error=str(failure),
                               security=security)  # fmt: skip
        except ValueError as exc:  # FactsFormatError and the parsers' errors
            return ProbeResult(target.hostname, self.name, ProbeStatus.ERROR, error=str(exc))
        data = {
            "address": target.address,
            "host_key": {"key_type": seen.key_type, "fingerprint_sha256": seen.fingerprint_sha256},
            **data,
        }
        return ProbeResult(target.hostname, self.name, ProbeStatus.OK, data=data, facts=facts,
                           seen_host_keys=(seen,) if new else ())  # fmt: skip

    def _session(self, target: Target) -> tuple[tuple[KnownHostKey, bool], str]:
        transport = ProbeTransport(_connect(target, self.options))
        with self._open_lock:
            self._open.add(transport)
        try:
            _prefer_ciphers(transport.get_security_options())
            host_key = HostKeyCheck(target, self._known, self.options.trust_new_host_keys)
            transport.known_key_types = host_key.known_types  # asked for first, as OpenSSH does
            timeout = self.options.auth_timeout
            # paramiko's own banner timer (and the handshake one, which ProbeTransport does
            # not start) a little later than start_client's: a silent server then reads as
            # one clear message, whichever fires first.
            transport.banner_timeout = transport.handshake_timeout = timeout + 1
            transport.auth_timeout = timeout
            _handshake(transport, timeout, _where(target))
            seen = host_key.check(transport.get_remote_server_key())
            keys = _private_keys(self._key_file, self.options.credentials.use_agent)
            _authenticate(transport, target.ssh_user or self.options.default_user, keys)
            options = self.options
            text = _run_script(transport, self.script, options.command_timeout,
                               options.max_output_bytes)  # fmt: skip
            return seen, text
        except HostKeyRefused as refused:
            raise HostFailure(ProbeStatus.REFUSED, str(refused), refused.security) from None
        except paramiko.SSHException as exc:
            raise HostFailure(ProbeStatus.ERROR, f"SSH {_where(target)}: {exc}") from None
        except (TimeoutError, EOFError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise HostFailure(ProbeStatus.UNREACHABLE, f"SSH {_where(target)}: {reason}") from None
        finally:
            transport.close()
            with self._open_lock:
                self._open.discard(transport)
