"""SSH host keys: known_hosts files (indexed) and the inventory's records, and the decision on
the key a server offers. Strict by default, as OpenSSH's StrictHostKeyChecking=yes:

- a key recorded for the host (known_hosts or the inventory) is accepted;
- a different key of a recorded type is CHANGED: refused and reported, never accepted;
- a key of a type not recorded while another type is (the server no longer offers the
  recorded one) is refused and reported the same way: OpenSSH would ask, a scan must not;
- a key of a host with nothing recorded is unknown: refused, or trusted on first use and
  recorded (`--trust-new-host-keys`).

The client asks for the recorded key types first, as OpenSSH does, so a server that also
has other keys shows the one on record.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry

from pelihara.collector.probes.base import KnownHostKey, Target

DEFAULT_PORT = 22
SHA1_BYTES = 20


class HostKeyRefused(Exception):
    """The server's key is not accepted. SECURITY: the message is also a security finding
    (a changed key), else None (a key merely unknown)."""

    def __init__(self, message: str, security: bool) -> None:
        super().__init__(message)
        self.security = message if security else None


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
        self._plain: dict[str, dict[str, tuple[int, paramiko.PKey]]] = {}
        self._hashed: dict[str, list[tuple[int, hmac.HMAC, bytes, paramiko.PKey]]] = {}
        for index, entry in enumerate(_entries(paths)):
            for name in entry.hostnames:
                self._add(index, name, entry.key)

    def _add(self, index: int, name: str, key: paramiko.PKey) -> None:
        if not name.startswith("|1|"):
            self._plain.setdefault(name, {}).setdefault(key.get_name(), (index, key))
            return
        salt_and_digest = _hashed_name(name)
        if salt_and_digest is not None:
            salt, digest = salt_and_digest
            keyed = hmac.new(salt, digestmod="sha1")  # copied per look-up: cheaper than new
            self._hashed.setdefault(key.get_name(), []).append((index, keyed, digest, key))

    def lookup(self, name: str, key_type: str) -> paramiko.PKey | None:
        """The key of `key_type` that the first line naming `name` holds, or None."""
        first = self._plain.get(name, {}).get(key_type)
        encoded = name.encode()
        for index, keyed, digest, key in self._hashed.get(key_type, ()):
            if first is not None and index > first[0]:
                break
            mac = keyed.copy()
            mac.update(encoded)
            if hmac.compare_digest(mac.digest(), digest):
                return key
        return first[1] if first is not None else None

    def key_types(self, name: str) -> set[str]:
        """The types of the keys recorded for `name`."""
        plain = set(self._plain.get(name, {}))
        hashed = {t for t in self._hashed if t not in plain and self.lookup(name, t)}
        return plain | hashed


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


class HostKeyCheck:
    """Decides on the key one server offers, against known_hosts and the inventory's records."""

    def __init__(self, target: Target, known: KnownHosts, trust_new: bool) -> None:
        self.target, self.known, self.trust_new = target, known, trust_new
        self.name = known_hosts_name(target.address, target.ssh_port or DEFAULT_PORT)
        self.recorded = {k.key_type: k.fingerprint_sha256 for k in target.host_keys}
        # Every key type recorded for the server, in known_hosts or the inventory (read once).
        self.known_types = set(self.recorded) | known.key_types(self.name)

    def prefer_known_types(self, security: paramiko.SecurityOptions) -> None:
        """Ask for the recorded key types first (OpenSSH does the same)."""
        known = self.known_types
        first = tuple(t for t in security.key_types if t in known)
        security.key_types = first + tuple(t for t in security.key_types if t not in known)

    def check(self, key: paramiko.PKey) -> tuple[KnownHostKey, bool]:
        """The key seen, and whether it is newly trusted (to be recorded); else raise
        `HostKeyRefused`."""
        seen = KnownHostKey(key.get_name(), key.fingerprint)
        in_file = self.known.lookup(self.name, seen.key_type)
        if in_file is not None and in_file.fingerprint != seen.fingerprint_sha256:
            self._changed(seen, f"known_hosts has {in_file.fingerprint}")
        recorded = self.recorded.get(seen.key_type)
        if recorded is not None and recorded != seen.fingerprint_sha256:
            self._changed(seen, f"the inventory recorded {recorded}")
        if in_file is not None or recorded is not None:
            return seen, False
        other_types = self.known_types
        if other_types:
            self._changed(seen, f"only {', '.join(sorted(other_types))} is recorded for it")
        if not self.trust_new:
            raise HostKeyRefused(
                f"unknown host key {seen.key_type} {seen.fingerprint_sha256} refused "
                "(check it, then run with --trust-new-host-keys to record it)",
                security=False,
            )
        return seen, True

    def _changed(self, seen: KnownHostKey, where: str) -> None:
        raise HostKeyRefused(
            f"HOST KEY CHANGED for {self.name}: it offered {seen.key_type} "
            f"{seen.fingerprint_sha256}, {where}; connection refused (if the server was "
            "re-keyed: check the new key, remove the old one with `ssh-keygen -R` or "
            "`pelihara inventory forget-host-key`, then run with --trust-new-host-keys)",
            security=True,
        )
