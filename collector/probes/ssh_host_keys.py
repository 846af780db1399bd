"""SSH host keys: the decision on the key a server offers, against known_hosts files
(`collector.probes.known_hosts`, read as OpenSSH reads them) and the inventory's records.
Strict by default, as OpenSSH's StrictHostKeyChecking=yes:

- a key revoked for the host (`@revoked` in known_hosts) is refused and reported, whatever
  else says so;
- a key recorded for the host (any known_hosts line naming it, or the inventory) is accepted;
- a different key of a recorded type is CHANGED: refused and reported, never accepted;
- a key of a type not recorded while another type is (the server no longer offers the
  recorded one) is refused and reported the same way, as OpenSSH does;
- a key of a host with nothing recorded is unknown: refused, or trusted on first use and
  recorded (`--trust-new-host-keys`).

The client asks for the host-key algorithms of the recorded key types first, as OpenSSH
does, so a server that also has keys of other types shows the one on record. A key type is
not an algorithm: an `ssh-rsa` key is offered as `rsa-sha2-512` or `rsa-sha2-256` (or the
SHA-1 `ssh-rsa`, which paramiko no longer asks for), an ECDSA key per curve, and each as a
certificate (`...-cert-v01@openssh.com`). A host certificate is checked as the plain key it
certifies (as OpenSSH does when no `@cert-authority` matches) and is refused when its
authority's key is `@revoked`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import paramiko

from pelihara.collector.probes.base import KnownHostKey, Target
from pelihara.collector.probes.known_hosts import (
    CERT_SUFFIX,
    BadLine,
    KnownHosts,
    certificate_keys,
    fingerprint,
)

DEFAULT_PORT = 22
RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


class HostKeyRefused(Exception):
    """The server's key is not accepted. SECURITY: the message is also a security finding
    (a changed or revoked key), else None (a key merely unknown)."""

    def __init__(self, message: str, security: bool) -> None:
        super().__init__(message)
        self.security = message if security else None


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: `host`, or `[host]:port` off port 22."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


def key_type_of(algorithm: str) -> str:
    """The key type a host-key algorithm proves possession of: `rsa-sha2-512` and
    `rsa-sha2-256-cert-v01@openssh.com` -> `ssh-rsa`, `ssh-ed25519-cert-v01@openssh.com`
    -> `ssh-ed25519`; ECDSA per curve (`ecdsa-sha2-nistp384` is its own type)."""
    plain = algorithm.removesuffix(CERT_SUFFIX)
    return "ssh-rsa" if plain in RSA_ALGORITHMS else plain


def order_host_key_algorithms(algorithms: Sequence[str], known: Collection[str]) -> tuple[str, ...]:
    """ALGORITHMS (best first) with those of the KNOWN key types first, each group in its
    own order: OpenSSH's order_hostkeyalgs."""
    first = tuple(a for a in algorithms if key_type_of(a) in known)
    return first + tuple(a for a in algorithms if key_type_of(a) not in known)


class HostKeyTransport(paramiko.Transport):
    """A paramiko transport that asks for the algorithms of `known_key_types` first, their
    certificate variants with them (paramiko appends every certificate after every plain
    algorithm, and its `key_types` setting holds no certificate)."""

    known_key_types: frozenset[str] = frozenset()

    @property
    def preferred_keys(self) -> Sequence[str]:
        return order_host_key_algorithms(super().preferred_keys, self.known_key_types)


def authority_fingerprint(key: paramiko.PKey) -> str | None:
    """The fingerprint of the authority that signed KEY when the server offered a host
    certificate (paramiko keeps it whole as the key's public blob), else None."""
    blob = key.public_blob.key_blob if key.public_blob is not None else b""
    if not key.public_blob or not key.public_blob.key_type.endswith(CERT_SUFFIX):
        return None
    try:
        return fingerprint(certificate_keys(blob)[1])
    except BadLine:
        return None


class HostKeyCheck:
    """Decides on the key one server offers, against known_hosts and the inventory's records."""

    def __init__(self, target: Target, known: KnownHosts, trust_new: bool) -> None:
        self.target, self.trust_new = target, trust_new
        self.name = known_hosts_name(target.address, target.ssh_port or DEFAULT_PORT)
        self.lines = known.lookup(self.name)  # read once
        self.recorded = {k.key_type: k.fingerprint_sha256 for k in target.host_keys}
        # Every key type recorded for the server, in known_hosts or the inventory.
        self.known_types = frozenset(self.recorded) | self.lines.key_types()

    def check(self, key: paramiko.PKey) -> tuple[KnownHostKey, bool]:
        """The key seen, and whether it is newly trusted (to be recorded); else raise
        `HostKeyRefused`."""
        seen = KnownHostKey(key.get_name(), key.fingerprint)
        self._not_revoked(seen, authority_fingerprint(key))
        in_files = [k for k in self.lines.keys if k.key_type == seen.key_type]
        in_file = any(k.fingerprint_sha256 == seen.fingerprint_sha256 for k in in_files)
        if in_files and not in_file:
            other = in_files[0]
            self._changed(seen, f"known_hosts has {other.fingerprint_sha256} ({other.where})")
        recorded = self.recorded.get(seen.key_type)
        if recorded is not None and recorded != seen.fingerprint_sha256:
            self._changed(seen, f"the inventory recorded {recorded}")
        if in_file or recorded is not None:
            return seen, False
        if self.known_types:
            self._changed(seen, f"only {', '.join(sorted(self.known_types))} is recorded for it")
        if not self.trust_new:
            raise HostKeyRefused(
                f"unknown host key {seen.key_type} {seen.fingerprint_sha256} refused "
                "(check it, then run with --trust-new-host-keys to record it)",
                security=False,
            )
        return seen, True

    def _not_revoked(self, seen: KnownHostKey, authority: str | None) -> None:
        """Refuse a key `@revoked` for the host, or a certificate whose authority is."""
        for line in self.lines.revoked:
            if line.fingerprint_sha256 in (seen.fingerprint_sha256, authority):
                what = "it" if line.fingerprint_sha256 == seen.fingerprint_sha256 else (
                    "the authority of its certificate")  # fmt: skip
                raise HostKeyRefused(
                    f"HOST KEY REVOKED for {self.name}: it offered {seen.key_type} "
                    f"{seen.fingerprint_sha256}, and {what} is marked @revoked in known_hosts "
                    f"({line.where}); connection refused",
                    security=True,
                )

    def _changed(self, seen: KnownHostKey, where: str) -> None:
        raise HostKeyRefused(
            f"HOST KEY CHANGED for {self.name}: it offered {seen.key_type} "
            f"{seen.fingerprint_sha256}, {where}; connection refused (if the server was "
            "re-keyed: check the new key, remove the old one with `ssh-keygen -R` or "
            "`pelihara inventory forget-host-key`, then run with --trust-new-host-keys)",
            security=True,
        )
