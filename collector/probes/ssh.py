"""The SSH probe (paramiko): one connection and one exec channel per host for all facts.

The remote command is the fixed text `collector.bundle.BUNDLE` (it runs `pelihara agent
facts` where installed, else a read-only bundle of commands); no inventory value is ever
put into it. The host key is checked BEFORE authentication, against known_hosts and the
keys recorded in the inventory: an unknown key is refused unless trust on first use was
asked for, and a changed key is always refused and reported as a security finding.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
from paramiko.hostkeys import HostKeyEntry

from agent.facts import Facts, facts_to_dict
from collector.bundle import BUNDLE, parse_bundle
from collector.credentials import Secret, SshCredentials
from collector.probes.base import KnownHostKey, ProbeResult, ProbeStatus, Target

DEFAULT_PORT = 22
SHA1_BYTES = 20
# AES-GCM first: an AEAD cipher checks its tag in C, where the -ctr ciphers' HMAC is compared
# byte by byte in Python for every packet. Nothing is added; the other ciphers stay as fallback.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
KEY_SETTING = "key_file in credentials.toml, or PELIHARA_SSH_KEY_FILE"
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


class HostFailure(Exception):
    """A per-host failure, turned into a `ProbeResult` (never raised out of the probe)."""

    def __init__(self, status: ProbeStatus, message: str, security: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.security = security


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: `host`, or `[host]:port` off port 22."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


class KnownHosts:
    """known_hosts files, read once and indexed: the first key of each type recorded for a name.

    The same answer as paramiko's `HostKeys.lookup(name).get(key_type)`, which tests every
    line, hashed ones (`|1|salt|hash`) with a byte-by-byte compare in Python: 30-40 ms per
    host for 1,000 hashed lines. Here a plain name is a dict look-up and a hashed line one HMAC
    (in C) of the lines holding a key of the offered type.
    """

    def __init__(self, paths: tuple[Path, ...]) -> None:
        self._plain: dict[tuple[str, str], tuple[int, paramiko.PKey]] = {}
        self._hashed: dict[str, list[tuple[int, hmac.HMAC, bytes, paramiko.PKey]]] = {}
        for index, entry in enumerate(_entries(paths)):
            for name in entry.hostnames:
                self._add(index, name, entry.key)

    def _add(self, index: int, name: str, key: paramiko.PKey) -> None:
        if not name.startswith("|1|"):
            self._plain.setdefault((name, key.get_name()), (index, key))
            return
        salt_and_digest = _hashed_name(name)
        if salt_and_digest is not None:
            salt, digest = salt_and_digest
            keyed = hmac.new(salt, digestmod="sha1")  # copied per look-up: cheaper than new
            self._hashed.setdefault(key.get_name(), []).append((index, keyed, digest, key))

    def lookup(self, name: str, key_type: str) -> paramiko.PKey | None:
        """The key of `key_type` that the first line naming `name` holds, or None."""
        first = self._plain.get((name, key_type))
        encoded = name.encode()
        for index, keyed, digest, key in self._hashed.get(key_type, ()):
            if first is not None and index > first[0]:
                break
            mac = keyed.copy()
            mac.update(encoded)
            if hmac.compare_digest(mac.digest(), digest):
                return key
        return first[1] if first is not None else None


def _entries(paths: tuple[Path, ...]) -> Iterator[HostKeyEntry]:
    """The lines of the files that paramiko's `HostKeys.load` keeps, in order."""
    for path in paths:
        expanded = path.expanduser()
        if not expanded.is_file():
            continue
        with expanded.open(encoding="utf-8") as lines:
            for number, text in enumerate(lines, 1):
                line = text.strip()
                if not line or line.startswith("#"):
                    continue
                try:
                    entry = HostKeyEntry.from_line(line, number)
                except paramiko.SSHException:
                    continue
                if entry is not None:
                    yield entry


def _hashed_name(name: str) -> tuple[bytes, bytes] | None:
    """(salt, HMAC-SHA1) of a hashed name `|1|salt|hash`. None when paramiko could never match
    it: it compares the name as it would write it (canonical base64), and fails every look-up
    on a salt that is not 20 bytes."""
    parts = name.split("|")
    try:
        salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
    except (IndexError, ValueError):
        return None
    canonical = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    return (salt, digest) if len(salt) == SHA1_BYTES and canonical == name else None


def _connect(target: Target, options: SshOptions) -> socket.socket:
    port = target.ssh_port or DEFAULT_PORT
    try:
        sock = socket.create_connection((target.address, port), timeout=options.connect_timeout)
    except TimeoutError:
        raise HostFailure(ProbeStatus.UNREACHABLE, f"timed out connecting to port {port}") from None
    except OSError as exc:
        raise HostFailure(ProbeStatus.UNREACHABLE, f"port {port}: {exc.strerror or exc}") from None
    # paramiko leaves Nagle on; with it, each small handshake packet waits for an ACK (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _HostKeyCheck:
    """Decides on the server's key against known_hosts and the inventory's records."""

    def __init__(self, target: Target, options: SshOptions, known: KnownHosts) -> None:
        self.target, self.options, self.known = target, options, known
        self.name = known_hosts_name(target.address, target.ssh_port or DEFAULT_PORT)

    def check(self, key: paramiko.PKey) -> tuple[KnownHostKey, bool]:
        """The key seen, and whether it is newly trusted (to be recorded); else raise."""
        seen = KnownHostKey(key.get_name(), key.fingerprint)
        recorded = {k.key_type: k.fingerprint_sha256 for k in self.target.host_keys}
        in_file = self.known.lookup(self.name, key.get_name())
        if in_file is not None and in_file.fingerprint != seen.fingerprint_sha256:
            self._changed(seen, f"known_hosts has {in_file.fingerprint}")
        if seen.key_type in recorded and recorded[seen.key_type] != seen.fingerprint_sha256:
            self._changed(seen, f"the inventory recorded {recorded[seen.key_type]}")
        if in_file is not None or seen.key_type in recorded:
            return seen, False
        if not self.options.trust_new_host_keys:
            raise HostFailure(
                ProbeStatus.REFUSED,
                f"unknown host key {seen.key_type} {seen.fingerprint_sha256} refused "
                "(check it, then run with --trust-new-host-keys to record it)",
            )
        return seen, True

    def _changed(self, seen: KnownHostKey, where: str) -> None:
        message = (
            f"HOST KEY CHANGED for {self.name}: it offered {seen.key_type} "
            f"{seen.fingerprint_sha256}, {where}; connection refused"
        )
        raise HostFailure(ProbeStatus.REFUSED, message, security=message)


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


def _run_script(transport: paramiko.Transport, script: str, timeout: float) -> str:
    channel = transport.open_session(timeout=timeout)
    channel.settimeout(timeout)
    # The script goes on stdin to a fixed `sh -s`: it runs the same under any login shell
    # (zsh, csh), and nothing of it is ever part of a command line.
    channel.exec_command("sh -s")
    channel.sendall(script.encode("utf-8"))
    channel.shutdown_write()
    chunks = []
    try:
        while data := channel.recv(65536):
            chunks.append(data)
    except TimeoutError:
        raise HostFailure(ProbeStatus.ERROR, f"no answer within {timeout:g} s") from None
    finally:
        channel.close()
    return b"".join(chunks).decode("utf-8", "replace")


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

    async def probe(self, target: Target) -> ProbeResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.probe_blocking, target)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

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
        transport = paramiko.Transport(_connect(target, self.options))
        try:
            _prefer_ciphers(transport.get_security_options())
            transport.banner_timeout = transport.handshake_timeout = self.options.auth_timeout
            transport.start_client(timeout=self.options.auth_timeout)
            seen = _HostKeyCheck(target, self.options, self._known).check(
                transport.get_remote_server_key()
            )
            keys = _private_keys(self._key_file, self.options.credentials.use_agent)
            _authenticate(transport, target.ssh_user or self.options.default_user, keys)
            return seen, _run_script(transport, self.script, self.options.command_timeout)
        except paramiko.SSHException as exc:
            raise HostFailure(ProbeStatus.ERROR, f"SSH: {exc}") from None
        except (TimeoutError, EOFError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise HostFailure(ProbeStatus.UNREACHABLE, f"SSH: {reason}") from None
        finally:
            transport.close()
