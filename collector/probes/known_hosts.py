"""known_hosts files read as OpenSSH reads them (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT").

A line is `[@marker] hostnames keytype base64 [comment]`; what pelihara makes of it:

- a plain line: a key the hosts it names may offer. The names are comma-separated patterns
  (`*` and `?` as wildcards, `!` to negate, case-insensitive; `[host]:port` off port 22), or
  one hashed name `|1|salt|hash` (HMAC-SHA1 of the name). Any line naming the host may hold
  the key it offers, as in OpenSSH (not only the first one of that type);
- `@revoked`: the key is never accepted from the hosts the line names (`*`: any host);
- `@cert-authority`: not supported, so skipped (warned once): a host certificate is checked
  as the plain key it certifies, as OpenSSH does when no authority matches it;
- a line that cannot be read (an unknown marker, no key, bad base64, a key that is not of
  the type the line says, a hashed name that cannot be decoded): skipped, as OpenSSH skips
  it, and warned about once with its file and line number.

paramiko's own reader is not used: it raises on markers and bad base64, knows no patterns,
and keeps only the first key of each type for a name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko

log = logging.getLogger(__name__)

REVOKED = "@revoked"
CERT_AUTHORITY = "@cert-authority"
CERT_SUFFIX = "-cert-v01@openssh.com"
HASH_MAGIC = "|1|"
SHA1_BYTES = 20
# The key types OpenSSH 9 reads from known_hosts; paramiko checks those it knows further.
OPENSSH_KEY_TYPES = frozenset({
    "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-xmss@openssh.com",
})  # fmt: skip
PARAMIKO_KEY_TYPES = frozenset({
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
})  # fmt: skip
# How many fields of public key follow the nonce in a certificate (OpenSSH's PROTOCOL.certkeys).
CERT_KEY_FIELDS = {
    "ssh-ed25519": 1, "ssh-rsa": 2, "ssh-dss": 4, "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2, "ecdsa-sha2-nistp521": 2, "sk-ssh-ed25519@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256@openssh.com": 3, "ssh-xmss@openssh.com": 2,
}  # fmt: skip


class BadLine(ValueError):
    """A known_hosts line OpenSSH would skip; the message says why."""


@dataclass(frozen=True)
class KnownKey:
    """A key a known_hosts line holds, by its SHA-256 fingerprint, and where the line is."""

    key_type: str
    fingerprint_sha256: str
    where: str  # "FILE:LINE"


@dataclass(frozen=True)
class HostLines:
    """What the files say of one host name: the keys it may offer, the keys revoked for it."""

    keys: tuple[KnownKey, ...] = ()
    revoked: tuple[KnownKey, ...] = ()

    def key_types(self) -> set[str]:
        return {key.key_type for key in self.keys}


@dataclass(frozen=True)
class _Line:
    marker: str  # "", REVOKED or CERT_AUTHORITY
    hosts: str
    key: KnownKey


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob (as `ssh-keygen -l` prints it)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class _Reader:
    """SSH wire-format fields read in turn from a key or certificate blob."""

    def __init__(self, blob: bytes) -> None:
        self.blob, self.offset = blob, 0

    def skip(self, size: int) -> bytes:
        if self.offset + size > len(self.blob):
            raise BadLine("the key is cut short")
        self.offset += size
        return self.blob[self.offset - size : self.offset]

    def string(self) -> bytes:
        (length,) = struct.unpack(">I", self.skip(4))
        return self.skip(length)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def plain_type(key_type: str) -> str:
    """The type of key a certificate type certifies (`ssh-ed25519-cert-v01@openssh.com` ->
    `ssh-ed25519`); a plain type as it is."""
    if not key_type.endswith(CERT_SUFFIX):
        return key_type
    plain = key_type.removesuffix(CERT_SUFFIX)
    return plain if plain in OPENSSH_KEY_TYPES else f"{plain}@openssh.com"


def certificate_keys(blob: bytes) -> tuple[bytes, bytes]:
    """(the certified public key, the authority's key) of an OpenSSH certificate BLOB:
    type, nonce, the key's fields, serial, type, key id, principals, validity (2), critical
    options, extensions, reserved, then the signature key."""
    reader = _Reader(blob)
    plain = plain_type(reader.string().decode("ascii", "replace"))
    if plain not in CERT_KEY_FIELDS:
        raise BadLine(f"not a certificate of a known type: {plain}")
    reader.string()  # nonce
    fields = [reader.string() for _ in range(CERT_KEY_FIELDS[plain])]
    reader.skip(8 + 4)
    reader.string(), reader.string()
    reader.skip(8 + 8)
    reader.string(), reader.string(), reader.string()
    certified = _string(plain.encode()) + b"".join(_string(field) for field in fields)
    return certified, reader.string()


def _blob_type(blob: bytes) -> str:
    return _Reader(blob).string().decode("ascii", "replace")


def parse_key(key_type: str, encoded: str) -> tuple[str, bytes]:
    """(type, blob) of the key a line gives as KEY_TYPE BASE64; raise BadLine where OpenSSH
    would not read it. `rsa-sha2-256`/`-512` name an `ssh-rsa` key, as OpenSSH reads them."""
    try:
        blob = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise BadLine("the key is not valid base64") from None
    inside = _blob_type(blob)
    if inside != key_type and not (inside == "ssh-rsa" and key_type.startswith("rsa-sha2-")):
        raise BadLine(f"a {key_type} line holds a key of type {inside or 'none'}")
    if plain_type(inside) not in OPENSSH_KEY_TYPES:
        raise BadLine(f"unknown key type {inside}")
    if inside in PARAMIKO_KEY_TYPES:
        try:
            paramiko.PKey.from_type_string(inside, blob)
        except (paramiko.SSHException, ValueError, TypeError, struct.error) as exc:
            raise BadLine(f"not a valid {inside} key ({exc or type(exc).__name__})") from None
    return inside, blob


def parse_line(text: str, where: str) -> _Line | None:
    """One line of a known_hosts file, or None for a comment or a blank; raise BadLine for a
    line OpenSSH would skip."""
    fields = re.split(r"[ \t]+", text.strip(" \t\r\n"))
    if not fields[0] or fields[0].startswith("#"):
        return None
    marker = fields.pop(0) if fields[0].startswith("@") else ""
    if marker not in ("", REVOKED, CERT_AUTHORITY):
        raise BadLine(f"unknown marker {marker}")
    if len(fields) < 3 or fields[1].startswith("#"):
        raise BadLine("no key on the line")
    key_type, blob = parse_key(fields[1], fields[2])
    if marker == REVOKED and key_type.endswith(CERT_SUFFIX):  # revokes the key it certifies
        blob = certificate_keys(blob)[0]
        key_type = _blob_type(blob)
    return _Line(marker, fields[0], KnownKey(key_type, fingerprint(blob), where))


def read_lines(paths: tuple[Path, ...]) -> Iterator[_Line]:
    """The lines of the files that pelihara uses, in order; the others skipped, and each bad
    or unsupported one warned about with its file and line number."""
    for path in paths:
        expanded = path.expanduser()
        if not expanded.is_file():
            continue
        with expanded.open(encoding="utf-8", errors="replace") as lines:
            for number, text in enumerate(lines, 1):
                where = f"{expanded}:{number}"
                try:
                    line = parse_line(text, where)
                except BadLine as bad:
                    log.warning("known_hosts %s: %s; line skipped", where, bad)
                    continue
                if line is not None and line.marker == CERT_AUTHORITY:
                    log.warning("known_hosts %s: @cert-authority is not supported; line "
                                "skipped (host certificates are checked as the plain keys "
                                "they certify)", where)  # fmt: skip
                elif line is not None:
                    yield line


def _glob(pattern: str) -> str:
    """OpenSSH's match_pattern as a regular expression: `*` any run, `?` one character."""
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


def pattern_list(field: str) -> Callable[[str], bool]:
    """OpenSSH's match_hostname: a name matches when a pattern does and no negated one."""
    subpatterns = field.lower().split(",")
    negated = [_glob(p[1:]) for p in subpatterns if p.startswith("!")]
    positive = [_glob(p) for p in subpatterns if not p.startswith("!")]
    refuse = re.compile("|".join(negated), re.DOTALL) if negated else None
    accept = re.compile("|".join(positive), re.DOTALL)

    def matches(name: str) -> bool:
        if refuse is not None and refuse.fullmatch(name):
            return False
        return accept.fullmatch(name) is not None

    return matches


def hashed_name(field: str) -> tuple[bytes, bytes]:
    """(salt, HMAC-SHA1) of a hashed name `|1|salt|hash`. Raise BadLine where OpenSSH cannot
    read the salt (20 bytes), or could never match the name: it compares the whole field with
    the name hashed as it would write it, so two hashed names joined by a comma match none."""
    salt_text, _, digest_text = field.removeprefix(HASH_MAGIC).partition("|")
    try:
        salt = base64.b64decode(salt_text, validate=True)
    except binascii.Error:
        salt = b""
    if not field.startswith(HASH_MAGIC) or len(salt) != SHA1_BYTES:
        raise BadLine("the hashed host name has no valid salt")
    digest = base64.b64decode(digest_text)  # what is not base64 is dropped, and then:
    if field != HASH_MAGIC + "|".join(base64.b64encode(v).decode() for v in (salt, digest)):
        raise BadLine("the hashed host name can never match (OpenSSH compares it whole)")
    return salt, digest


class KnownHosts:
    """known_hosts files, read once and indexed by host name.

    A plain name is a dict look-up; a line of patterns is matched in turn; a hashed line costs
    one HMAC (in C) per look-up: ~1 ms per host for 1,000 hashed lines.
    """

    def __init__(self, paths: tuple[Path, ...]) -> None:
        self._exact: dict[str, list[tuple[int, _Line]]] = {}
        self._patterns: list[tuple[int, Callable[[str], bool], _Line]] = []
        self._hashed: list[tuple[int, hmac.HMAC, bytes, _Line]] = []
        for index, line in enumerate(read_lines(paths)):
            try:
                self._add(index, line)
            except BadLine as bad:
                log.warning("known_hosts %s: %s; line skipped", line.key.where, bad)

    def _add(self, index: int, line: _Line) -> None:
        if line.hosts.startswith("|"):
            salt, digest = hashed_name(line.hosts)
            keyed = hmac.new(salt, digestmod="sha1")  # copied per look-up: cheaper than new
            self._hashed.append((index, keyed, digest, line))
        elif any(c in line.hosts for c in "*?!"):
            self._patterns.append((index, pattern_list(line.hosts), line))
        else:
            for name in line.hosts.lower().split(","):
                self._exact.setdefault(name, []).append((index, line))

    def lookup(self, name: str) -> HostLines:
        """Every line naming NAME (`host`, or `[host]:port`), in file order."""
        name = name.lower()  # OpenSSH lowercases the host name before matching or hashing
        found = list(self._exact.get(name, ()))
        found += [(index, line) for index, matches, line in self._patterns if matches(name)]
        encoded = name.encode()
        for index, keyed, digest, line in self._hashed:
            mac = keyed.copy()
            mac.update(encoded)
            if hmac.compare_digest(mac.digest(), digest):
                found.append((index, line))
        lines = [line for _, line in sorted(found, key=lambda pair: pair[0])]
        keys = tuple(line.key for line in lines if line.marker != REVOKED)
        return HostLines(keys, tuple(line.key for line in lines if line.marker == REVOKED))
