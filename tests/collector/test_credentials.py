"""The credentials file: refused unless private, values from the environment, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from pelihara.collector.credentials import Secret, load_credentials
from pelihara.core.errors import ConfigurationError

FILE = """\
[ssh]
key_file = "~/.ssh/dc_ed25519"
passphrase = "kata-sandi-rahasia"

[snmp.snmp-dc-v3]
version = "3"
user = "pelihara"
auth_key = "auth-rahasia-1"
priv_key = "priv-rahasia-2"

[snmp.snmp-legacy-v2c]
community = "komunitas-rahasia"
"""


@pytest.fixture
def credentials_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "credentials.toml"
    path.write_text(FILE, encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("PELIHARA_CREDENTIALS", str(path))
    return path


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_file_readable_by_others_is_refused(credentials_file: Path, mode: int) -> None:
    credentials_file.chmod(mode)
    with pytest.raises(ConfigurationError, match="chmod 600") as caught:
        load_credentials({})
    assert "rahasia" not in str(caught.value)


def test_private_file_is_read_with_secure_defaults(credentials_file: Path) -> None:
    credentials = load_credentials({})
    assert credentials.ssh.key_file == Path("~/.ssh/dc_ed25519").expanduser()
    assert credentials.ssh.passphrase == Secret("kata-sandi-rahasia")
    v3 = credentials.snmp_for("snmp-dc-v3")
    assert (v3.version, v3.auth_protocol, v3.priv_protocol) == ("3", "SHA256", "AES128")
    assert not v3.allow_insecure
    assert credentials.snmp_for("snmp-legacy-v2c").version == "2c"


def test_environment_overrides_and_adds(credentials_file: Path) -> None:
    env = {
        "PELIHARA_SNMP_SNMP_DC_V3_AUTH_KEY": "from-env",
        "PELIHARA_SNMP_ONLY_ENV_COMMUNITY": "env-community",
        "PELIHARA_SSH_KEY_FILE": "/keys/id",
    }
    credentials = load_credentials(env)
    assert credentials.snmp_for("snmp-dc-v3").auth_key == Secret("from-env")
    assert credentials.snmp_for("only-env").community == Secret("env-community")
    assert credentials.ssh.key_file == Path("/keys/id")


def test_secrets_never_show_in_repr_or_errors(credentials_file: Path) -> None:
    credentials = load_credentials({})
    text = repr(credentials) + str(credentials)
    for secret in ("kata-sandi-rahasia", "auth-rahasia-1", "priv-rahasia-2", "komunitas-rahasia"):
        assert secret not in text
    with pytest.raises(ConfigurationError, match=r"'nope' is not in credentials\.toml"):
        credentials.snmp_for("nope")


def test_bad_toml_names_the_line_not_the_value(credentials_file: Path) -> None:
    credentials_file.write_text('[ssh]\npassphrase = "rahasia\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML") as caught:
        load_credentials({})
    assert "line 2" in str(caught.value)
    assert "rahasia" not in str(caught.value)


def test_no_file_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PELIHARA_CREDENTIALS", raising=False)
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))  # no credentials.toml there
    credentials = load_credentials({})
    assert credentials.ssh.use_agent and credentials.snmp == {}
