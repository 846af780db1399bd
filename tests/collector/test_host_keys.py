"""SSH host keys as OpenSSH reads them: key types and their algorithms, known_hosts lines
(patterns, hashed names, @revoked, @cert-authority, bad lines), against a real sshd with RSA,
ECDSA and Ed25519 host keys, and OpenSSH's own client and ssh-keygen as the referees.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from pelihara.collector.credentials import SshCredentials
from pelihara.collector.probes.base import KnownHostKey, ProbeResult, ProbeStatus, Target
from pelihara.collector.probes.known_hosts import KnownHosts
from pelihara.collector.probes.ssh import SshOptions, SshProbe
from pelihara.collector.probes.ssh_host_keys import (
    HostKeyTransport,
    key_type_of,
    order_host_key_algorithms,
)
from pelihara.facts.bundle import VERIFY_BUNDLE
from tests.realservers.base import require_binary
from tests.realservers.sshd import (
    SshServer,
    fingerprint,
    keygen,
    openssh_accepts,
    public_line,
    running_sshd,
)

LOGGER = "pelihara.collector.probes.known_hosts"
hashed = paramiko.HostKeys.hash_host


def _public_line(kind: str) -> str:
    """A fresh public key as known_hosts writes it: `TYPE BASE64`."""
    key = {
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ecdsa": lambda: ec.generate_private_key(ec.SECP256R1()),
        "rsa": lambda: rsa.generate_private_key(65537, 2048),
    }[kind]()
    openssh = serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    return key.public_key().public_bytes(*openssh).decode()


# --- key types and their algorithms -----------------------------------------------------------


def test_each_host_key_algorithm_names_the_key_type_it_uses() -> None:
    """Every algorithm paramiko may ask for, certificates included, maps to its key type."""
    with socket.socket() as unconnected:
        algorithms = paramiko.Transport(unconnected).preferred_keys
    expected = {
        "ssh-ed25519": "ssh-ed25519", "ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384": "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521": "ecdsa-sha2-nistp521",
        "rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa", "ssh-rsa": "ssh-rsa",
    }  # fmt: skip
    assert {a.removesuffix("-cert-v01@openssh.com") for a in algorithms} <= set(expected)
    for algorithm in [*algorithms, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com"]:
        assert key_type_of(algorithm) == expected[algorithm.removesuffix("-cert-v01@openssh.com")]


@pytest.mark.parametrize(
    ("known", "first"),
    [
        ({"ssh-rsa"}, ["rsa-sha2-512", "rsa-sha2-256", "rsa-sha2-512-cert-v01@openssh.com",
                       "rsa-sha2-256-cert-v01@openssh.com"]),
        ({"ecdsa-sha2-nistp384"}, ["ecdsa-sha2-nistp384",
                                   "ecdsa-sha2-nistp384-cert-v01@openssh.com"]),
        ({"ssh-ed25519", "ssh-rsa"}, ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256",
                                      "ssh-ed25519-cert-v01@openssh.com",
                                      "rsa-sha2-512-cert-v01@openssh.com",
                                      "rsa-sha2-256-cert-v01@openssh.com"]),
        (set(), []),
    ],
    ids=["rsa", "ecdsa-per-curve", "two-types", "none"],
)  # fmt: skip
def test_the_known_key_types_algorithms_are_asked_for_first(
    known: set[str], first: list[str]
) -> None:
    """As OpenSSH's order_hostkeyalgs: a recorded `ssh-rsa` key puts rsa-sha2-512/256 (and
    their certificates) first; nothing is added or lost, the rest keeps paramiko's order."""
    with socket.socket() as unconnected:
        default = list(paramiko.Transport(unconnected).preferred_keys)
        transport = HostKeyTransport(unconnected)
        transport.known_key_types = frozenset(known)
        ordered = list(transport.preferred_keys)
    assert ordered[: len(first)] == first
    assert sorted(ordered) == sorted(default)
    assert [a for a in ordered if a not in first] == [a for a in default if a not in first]
    assert order_host_key_algorithms(default, known) == tuple(ordered)


# --- known_hosts lines, with ssh-keygen -F as the referee ------------------------------------


def _messy_known_hosts(path: Path) -> tuple[list[str], set[int]]:
    """Plain, hashed and pattern names, markers, and lines OpenSSH skips: the names to look
    up, and the numbers of the lines pelihara must warn about."""
    ed, ecdsa, rsa_line = _public_line("ed25519"), _public_line("ecdsa"), _public_line("rsa")
    lines = {
        1: "# a comment", 2: "",
        3: f"web01,10.0.0.1 {ed}",
        4: f"{hashed('10.0.0.2')} {ed}",
        5: f"{hashed('10.0.0.2')},{hashed('[10.0.0.3]:2222')} {ed}",  # matches nothing: bad
        6: f"10.0.0.2 {_public_line('ed25519')}",  # a second key of the type: both count
        7: f"{hashed('web01')} {ecdsa}",
        8: f"[10.0.0.3]:2222 {ecdsa}",
        9: f"|1|bm90LWEtc2FsdA==|eA==,10.0.0.4 {ed}",  # a salt that is not 20 bytes: bad
        10: f"*.dc.lab,!db?.dc.lab {rsa_line}",
        11: f"WEB02.DC.LAB {ed}",
        12: f"@revoked * {_public_line('ed25519')}",
        13: f"@revoked [10.0.0.3]:* {_public_line('ecdsa')}",
        14: f"@cert-authority *.dc.lab {ed}",  # not supported: skipped, warned
        15: f"@trusted web01 {ed}",  # unknown marker: bad
        16: "two-fields only",
        17: "10.0.0.7 ssh-unknown-type AAAA",
        18: "10.0.0.8 ssh-ed25519 AAAA!!!!",  # not base64
        19: f"10.0.0.9 ssh-rsa {ed.split()[1]}",  # an Ed25519 key called RSA
        20: f"10.0.0.1 {_public_line('ecdsa')}",
        21: f"  \t10.0.0.1\t{_public_line('ed25519')}  a comment",
    }  # fmt: skip
    path.write_text("".join(lines[n] + "\n" for n in sorted(lines)), encoding="utf-8")
    names = ["web01", "10.0.0.1", "10.0.0.2", "[10.0.0.3]:2222", "10.0.0.3", "10.0.0.4",
             "web02.dc.lab", "db1.dc.lab", "app.dc.lab", "10.0.0.7", "10.0.0.8", "10.0.0.9",
             "elsewhere"]  # fmt: skip
    return names, {5, 9, 14, 15, 16, 17, 18, 19}


def _keygen_finds(path: Path, name: str) -> dict[int, str]:
    """The lines `ssh-keygen -F NAME` finds in PATH: {number: "" | "REVOKED" | "CA"}."""
    require_binary("ssh-keygen", "openssh-client")
    done = subprocess.run(["ssh-keygen", "-F", name, "-f", str(path)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    found = re.findall(r"^# Host \S+ found: line (\d+) ?(\S*)", done.stdout, re.MULTILINE)
    return {int(number): marker for number, marker in found}


def _line_number(where: str) -> int:
    return int(where.rsplit(":", 1)[1])


def test_known_hosts_lines_match_the_hosts_openssh_matches(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """For each name, pelihara takes the lines ssh-keygen -F finds (and marks the same ones
    revoked), less the ones it skips; each skipped line is warned about once."""
    path = tmp_path / "known_hosts"
    names, bad = _messy_known_hosts(path)
    with caplog.at_level(logging.WARNING, LOGGER):
        index = KnownHosts((path, tmp_path / "missing"))
    warned = [_line_number(r.getMessage().split()[1].rstrip(":")) for r in caplog.records]
    assert sorted(warned) == sorted(bad)
    assert "@cert-authority is not supported" in caplog.text
    for name in names:
        lines = index.lookup(name.upper() if name == "web01" else name)  # case-insensitive
        ours = {_line_number(k.where): "" for k in lines.keys}
        ours |= {_line_number(k.where): "REVOKED" for k in lines.revoked}
        openssh = {n: m for n, m in _keygen_finds(path, name).items() if n not in bad}
        assert ours == openssh, name


# --- the probe against a real sshd with RSA, ECDSA and Ed25519 host keys ---------------------


def _probe(sshd: SshServer, known_hosts: tuple[Path, ...], trust_new: bool = False) -> SshProbe:
    credentials = SshCredentials(key_file=sshd.client_key_path, use_agent=False)
    options = SshOptions(credentials, known_hosts=known_hosts, trust_new_host_keys=trust_new,
                         default_user=sshd.username, concurrency=4)  # fmt: skip
    return SshProbe(options, script=VERIFY_BUNDLE)


def _target(sshd: SshServer, *recorded: KnownHostKey, name: str = "sshd") -> Target:
    return Target(name, "test", (sshd.host,), ssh_port=sshd.port, ssh_user=sshd.username,
                  host_keys=recorded)  # fmt: skip


def _run(probe: SshProbe, *targets: Target) -> list[ProbeResult]:
    async def main() -> list[ProbeResult]:
        try:
            return list(await asyncio.gather(*(probe.probe(t) for t in targets)))
        finally:
            await probe.close()

    return asyncio.run(main())


def _known(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


KEY_TYPES = ["ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_key_of_each_type_in_known_hosts_lets_in_as_openssh(
    sshd_every_key_type: SshServer, tmp_path: Path, key_type: str
) -> None:
    """known_hosts holds only the server's RSA (or ECDSA, or Ed25519) key: the probe asks
    for that type's algorithms first and gets in, as OpenSSH's client does."""
    sshd = sshd_every_key_type
    known = _known(tmp_path, f"{sshd.known_hosts_name} {sshd.host_key_lines[key_type]}")
    [result] = _run(_probe(sshd, (known,)), _target(sshd))
    assert result.ok, result.error
    assert result.data["host_key"] == {
        "key_type": key_type,
        "fingerprint_sha256": fingerprint(sshd.host_key_lines[key_type]),
    }
    assert openssh_accepts(sshd, known)[0]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_key_of_each_type_recorded_in_the_inventory_lets_in(
    sshd_every_key_type: SshServer, key_type: str
) -> None:
    """The inventory recorded the server's RSA (ECDSA, Ed25519) key and no known_hosts file
    is read: accepted, not "HOST KEY CHANGED"."""
    sshd = sshd_every_key_type
    recorded = KnownHostKey(key_type, fingerprint(sshd.host_key_lines[key_type]))
    [result] = _run(_probe(sshd, ()), _target(sshd, recorded))
    assert result.ok, result.error
    assert result.data["host_key"]["key_type"] == key_type
    assert result.seen_host_keys == ()  # known already: nothing to record


# Each case: known_hosts lines (NAME stands for `[127.0.0.1]:PORT`, RSA/ECDSA/ED25519 for the
# server's keys, OTHER for a key it does not have), and whether OpenSSH and pelihara let in.
CASES = {
    "hashed-rsa": (["HASHED RSA"], True),
    "wildcard-pattern": (["[127.0.0.*]:PORT ECDSA"], True),
    "negated-pattern": (["[127.0.0.*]:PORT,!NAME ED25519"], False),
    "wrong-key": (["NAME OTHER"], False),
    "wrong-key-then-right-key": (["NAME OTHER", "NAME ED25519"], True),
    "another-type-only": (["NAME OTHER-ECDSA"], False),
    "revoked-and-known": (["NAME ED25519", "@revoked NAME ED25519"], False),
    "revoked-for-any-host": (["NAME RSA", "@revoked * RSA"], False),
    "revoked-another-key": (["NAME RSA", "@revoked * OTHER"], True),
    "cert-authority-ignored": (["@cert-authority NAME OTHER", "NAME ECDSA"], True),
    "cert-authority-only": (["@cert-authority * ED25519"], False),
    "bad-base64-then-good": (["NAME ssh-ed25519 AAAA!!!!", "NAME RSA"], True),
    "unknown-marker-only": (["@trusted NAME ED25519"], False),
}


def _expand(line: str, sshd: SshServer, other: dict[str, str]) -> str:
    words = {
        "NAME": sshd.known_hosts_name, "PORT": str(sshd.port),
        "HASHED": hashed(sshd.known_hosts_name),
        "RSA": sshd.host_key_lines["ssh-rsa"], "ECDSA": sshd.host_key_lines["ecdsa-sha2-nistp256"],
        "ED25519": sshd.host_key_lines["ssh-ed25519"], "OTHER-ECDSA": other["ecdsa"],
        "OTHER": other["ed25519"],
    }  # fmt: skip
    pattern = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    return re.sub(pattern, lambda m: words[m.group(0)], line)


@pytest.fixture(scope="module")
def other_keys() -> dict[str, str]:
    return {"ed25519": _public_line("ed25519"), "ecdsa": _public_line("ecdsa")}


@pytest.mark.parametrize(("lines", "accepted"), list(CASES.values()), ids=list(CASES))
def test_pelihara_and_openssh_agree_on_known_hosts(
    sshd_every_key_type: SshServer, tmp_path: Path, other_keys: dict[str, str],
    lines: list[str], accepted: bool,
) -> None:  # fmt: skip
    """The same known_hosts, beside OpenSSH's client: let in by both, or refused by both."""
    sshd = sshd_every_key_type
    known = _known(tmp_path, *(_expand(line, sshd, other_keys) for line in lines))
    openssh, said = openssh_accepts(sshd, known)
    [result] = _run(_probe(sshd, (known,)), _target(sshd))
    assert (openssh, result.ok) == (accepted, accepted), (said, result.error)
    if not accepted:
        assert result.status is ProbeStatus.REFUSED


def test_a_revoked_key_is_refused_and_reported_even_when_recorded(
    sshd_every_key_type: SshServer, tmp_path: Path
) -> None:
    """`@revoked`: refused whatever else says so (the inventory's record, trust on first use),
    reported as a security finding naming the line; nothing is recorded."""
    sshd = sshd_every_key_type
    line = sshd.host_key_lines["ssh-ed25519"]
    known = _known(tmp_path, "# revoked after the incident", f"@revoked * {line}")
    recorded = KnownHostKey("ssh-ed25519", fingerprint(line))
    for target, trust_new in ((_target(sshd, recorded), False), (_target(sshd), True)):
        [result] = _run(_probe(sshd, (known,), trust_new=trust_new), target)
        assert result.status is ProbeStatus.REFUSED and result.seen_host_keys == ()
        assert result.error is not None
        assert result.error.startswith(f"HOST KEY REVOKED for {sshd.known_hosts_name}")
        assert f"{known}:2" in result.error
        assert result.security == (result.error,)
    assert not openssh_accepts(sshd, _known(tmp_path, f"{sshd.known_hosts_name} {line}",
                                            f"@revoked * {line}"))[0]  # fmt: skip


def test_bad_lines_are_warned_about_once_not_per_host(
    sshd_every_key_type: SshServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad line, a @cert-authority and a @revoked one: no traceback; the hosts named by
    good lines get in; each skipped line is warned about once for three hosts."""
    sshd = sshd_every_key_type
    other = _public_line("ed25519")
    known = _known(tmp_path, "garbage ssh-ed25519 AAAA!!!!", f"@cert-authority * {other}",
                   f"@revoked * {other}",
                   f"{sshd.known_hosts_name} {sshd.host_key_lines['ssh-ed25519']}")  # fmt: skip
    with caplog.at_level(logging.WARNING, LOGGER):
        results = _run(_probe(sshd, (known,)), *(_target(sshd, name=f"h{i}") for i in range(3)))
    assert [r.status for r in results] == [ProbeStatus.OK] * 3, [r.error for r in results]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        f"known_hosts {known}:1: the key is not valid base64; line skipped",
        f"known_hosts {known}:2: @cert-authority is not supported; line skipped (host "
        "certificates are checked as the plain keys they certify)",
    ]


# --- a host certificate ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def certified_sshd() -> Iterator[tuple[SshServer, str]]:
    """sshd offering only its Ed25519 host certificate (HostKeyAlgorithms), and the CA's
    public line."""
    with tempfile.TemporaryDirectory(prefix="pelihara-ca-") as tmp:
        ca = Path(tmp) / "host_ca"
        ca_line = keygen(ca)
        extra = "HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com\n"
        with running_sshd(extra, ca=ca) as sshd:
            yield sshd, ca_line


@pytest.mark.parametrize(
    ("lines", "openssh", "pelihara"),
    [
        (["NAME KEY"], True, True),
        (["NAME KEY", "@revoked * CA"], False, False),
        # @cert-authority is not supported: the certificate alone does not let pelihara in
        (["@cert-authority NAME CA"], True, False),
    ],
    ids=["plain-key-known", "authority-revoked", "cert-authority-divergence"],
)
def test_a_host_certificate_is_checked_as_its_plain_key(
    certified_sshd: tuple[SshServer, str], tmp_path: Path, lines: list[str], openssh: bool,
    pelihara: bool,
) -> None:  # fmt: skip
    """The server offers a certificate: paramiko takes the key it certifies, which known_hosts
    must hold (OpenSSH falls back to it too when no authority matches); a certificate whose
    authority is @revoked is refused by both."""
    sshd, ca_line = certified_sshd
    words = {"NAME": sshd.known_hosts_name, "KEY": sshd.host_key_line, "CA": ca_line}
    known = _known(tmp_path, *(" ".join(words.get(w, w) for w in line.split()) for line in lines))
    [result] = _run(_probe(sshd, (known,)), _target(sshd))
    assert (openssh_accepts(sshd, known)[0], result.ok) == (openssh, pelihara), result.error
    if result.ok:
        assert result.data["host_key"]["fingerprint_sha256"] == fingerprint(sshd.host_key_line)
    elif "@revoked" in " ".join(lines):
        assert result.error is not None and "the authority of its certificate" in result.error
    assert public_line(sshd.client_key_path.with_name("host_ed25519-cert.pub")).startswith(
        "ssh-ed25519-cert-v01@openssh.com "
    )


def test_a_server_signing_only_with_sha1_rsa_is_a_reach_error_not_changed(
    tmp_path: Path,
) -> None:
    """An old server (OpenSSH before 7.2) signs its RSA key only with SHA-1 `ssh-rsa`, which
    pelihara does not use: the handshake fails as `ssh.reach`, and the key is not CHANGED."""
    with running_sshd("HostKeyAlgorithms ssh-rsa\n", host_keys=("rsa",)) as sshd:
        known = _known(tmp_path, f"{sshd.known_hosts_name} {sshd.host_key_lines['ssh-rsa']}")
        [result] = _run(_probe(sshd, (known,)), _target(sshd))
    assert result.status is ProbeStatus.ERROR
    assert "no acceptable host key" in (result.error or "")
    assert result.security == () and result.seen_host_keys == ()
