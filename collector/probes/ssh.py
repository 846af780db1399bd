"""The SSH probe (paramiko): one connection and one exec channel per host for all facts.

The remote command is the fixed text `collector.bundle.BUNDLE` (it runs `pelihara agent
facts` where installed, else a read-only bundle of commands); no inventory value is ever
put into it. The host key is checked BEFORE authentication, against known_hosts and the
keys recorded in the inventory: an unknown key is refused unless trust on first use was
asked for, and a changed key is always refused and reported as a security finding.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from agent.facts import Facts, facts_to_dict
from collector.bundle import BUNDLE, parse_bundle
from collector.credentials import SshCredentials
from collector.probes.base import KnownHostKey, ProbeResult, ProbeStatus, Target

DEFAULT_PORT = 22


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


def _load_known_hosts(paths: tuple[Path, ...]) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    for path in paths:
        expanded = path.expanduser()
        if expanded.is_file():
            keys.load(str(expanded))
    return keys


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

    def __init__(self, target: Target, options: SshOptions, known: paramiko.HostKeys) -> None:
        self.target, self.options, self.known = target, options, known
        self.name = known_hosts_name(target.address, target.ssh_port or DEFAULT_PORT)

    def check(self, key: paramiko.PKey) -> tuple[KnownHostKey, bool]:
        """The key seen, and whether it is newly trusted (to be recorded); else raise."""
        seen = KnownHostKey(key.get_name(), key.fingerprint)
        recorded = {k.key_type: k.fingerprint_sha256 for k in self.target.host_keys}
        entry = self.known.lookup(self.name)
        in_file = entry.get(key.get_name()) if entry is not None else None
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


def _private_keys(credentials: SshCredentials) -> list[paramiko.PKey]:
    keys: list[paramiko.PKey] = []
    if credentials.key_file is not None:
        passphrase = credentials.passphrase.reveal() if credentials.passphrase else None
        try:
            keys.append(paramiko.PKey.from_path(credentials.key_file, password=passphrase))
        except paramiko.PasswordRequiredException:
            raise HostFailure(ProbeStatus.ERROR, "the SSH key needs a passphrase") from None
        except (OSError, paramiko.SSHException) as exc:
            # paramiko's messages name the file and the reason, never the passphrase.
            message = f"cannot load SSH key {credentials.key_file}: {exc}"
            raise HostFailure(ProbeStatus.ERROR, message) from None
    if credentials.use_agent:
        keys.extend(paramiko.Agent().get_keys())
    return keys


def _authenticate(transport: paramiko.Transport, user: str, options: SshOptions) -> None:
    keys = _private_keys(options.credentials)
    if not keys:
        raise HostFailure(ProbeStatus.ERROR, "no SSH key: set key_file in credentials.toml")
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


class SshProbe:
    """Facts over SSH; blocking paramiko work runs in a thread pool of `concurrency` threads.

    Subclasses read something else by changing `script` (fixed text) and `read`.
    """

    name = "ssh"
    script = BUNDLE

    def __init__(self, options: SshOptions, script: str | None = None) -> None:
        self.options = options
        self.script = script or type(self).script
        self._known = _load_known_hosts(options.known_hosts)
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
            transport.banner_timeout = transport.handshake_timeout = self.options.auth_timeout
            transport.start_client(timeout=self.options.auth_timeout)
            seen = _HostKeyCheck(target, self.options, self._known).check(
                transport.get_remote_server_key()
            )
            _authenticate(transport, target.ssh_user or self.options.default_user, self.options)
            return seen, _run_script(transport, self.script, self.options.command_timeout)
        except paramiko.SSHException as exc:
            raise HostFailure(ProbeStatus.ERROR, f"SSH: {exc}") from None
        except (TimeoutError, EOFError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise HostFailure(ProbeStatus.UNREACHABLE, f"SSH: {reason}") from None
        finally:
            transport.close()
