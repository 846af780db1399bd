"""SSH host keys from `ssh-keygen -lf`, on recorded outputs in tests/fixtures/bundle."""

from __future__ import annotations

from pelihara.facts.host_keys import host_keys_from_keygen
from pelihara.facts.model import HostKey
from tests.facts.recorded import DEBIAN, section


def test_host_keys_from_keygen() -> None:
    keys = host_keys_from_keygen(section(DEBIAN, "ssh-host-keys"))
    assert [key.key_type for key in keys] == ["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"]
    assert HostKey("ssh-ed25519", "SHA256:4phALWF4ZDstjSGySD7L6H915S5nXA3lYeVq37oXb4o") in keys


def test_host_keys_name_the_ecdsa_curve_and_skip_md5() -> None:
    text = (
        "384 SHA256:abc root@h (ECDSA)\n"
        "2048 MD5:12:34:56 root@h (RSA)\n"
        "256 SHA256:def no comment here (ED25519-SK)\n"
    )
    assert host_keys_from_keygen(text) == (
        HostKey("ecdsa-sha2-nistp384", "SHA256:abc"),
        HostKey("sk-ssh-ed25519@openssh.com", "SHA256:def"),
    )
