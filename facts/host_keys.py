"""The server's SSH host keys: `ssh-keygen -lf` on each public key, its section and parser.

>>> host_keys_from_keygen("256 SHA256:4phALW root@vm (ED25519)\\n")
(HostKey(key_type='ssh-ed25519', fingerprint_sha256='SHA256:4phALW'),)
"""

from __future__ import annotations

from pelihara.facts.model import HostKey
from pelihara.facts.section import Section

_KEY_TYPES = {
    "RSA": "ssh-rsa",
    "DSA": "ssh-dss",
    "ED25519": "ssh-ed25519",
    "ED25519-SK": "sk-ssh-ed25519@openssh.com",
    "ECDSA-SK": "sk-ecdsa-sha2-nistp256@openssh.com",
}


def host_keys_from_keygen(text: str) -> tuple[HostKey, ...]:
    """`ssh-keygen -lf KEY.pub` lines: `256 SHA256:... comment (ED25519)`.

    Lines with an MD5 fingerprint (OpenSSH before 6.8) are skipped: the model keeps SHA256.
    """
    keys = set()
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or not words[1].startswith("SHA256:"):
            continue
        keys.add(HostKey(key_type=_key_type(words[0], words[-1]), fingerprint_sha256=words[1]))
    return tuple(sorted(keys, key=lambda key: (key.key_type, key.fingerprint_sha256)))


def _key_type(bits: str, label: str) -> str:
    kind = label.strip("()").upper()
    if kind == "ECDSA":
        return f"ecdsa-sha2-nistp{bits}"  # the curve is named by its size: 256, 384, 521
    # A type this table does not know keeps ssh-keygen's own label, never a made-up name.
    return _KEY_TYPES.get(kind, kind)


SSH_HOST_KEYS = Section(
    "ssh-host-keys",
    # Without ssh-keygen the keys are not read; with it, a key it cannot read is left out
    # (as the agent does), and no key file at all is "no host key".
    r"""command -v ssh-keygen >/dev/null 2>&1 || failed
for f in /etc/ssh/ssh_host_*_key.pub; do
  [ -r "$f" ] && ssh-keygen -lf "$f" 2>/dev/null
done
""",
    host_keys_from_keygen,
)
