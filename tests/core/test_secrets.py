"""The credentials file: a file that PELIHARA_CREDENTIALS names must exist; the file is
checked on the descriptor it is read from (a regular file, this user's, 0600)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from pelihara.core.errors import ConfigurationError
from pelihara.core.secrets import read_credentials

TEXT = '[influxdb]\ntoken = "token-rahasia"\n'


def _private(path: Path) -> Path:
    path.write_text(TEXT, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    """Before: a typo in PELIHARA_CREDENTIALS silently meant "no credentials"."""
    named = tmp_path / "credentails.toml"
    with pytest.raises(ConfigurationError, match=r"PELIHARA_CREDENTIALS names .* does not exist"):
        read_credentials({"PELIHARA_CREDENTIALS": str(named)})


def test_default_file_may_be_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))
    assert read_credentials({}) == {}
    _private(tmp_path / "credentials.toml")
    assert read_credentials({})["influxdb"]["token"] == "token-rahasia"


def test_file_of_another_user_is_refused(tmp_path: Path) -> None:
    """0600, but someone else's: whoever owns it decides what pelihara logs in with."""
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    path = _private(tmp_path / "credentials.toml")
    other = pwd.getpwnam("nobody").pw_uid
    os.chown(path, other, -1)
    with pytest.raises(ConfigurationError, match=f"belongs to user id {other}") as caught:
        read_credentials({"PELIHARA_CREDENTIALS": str(path)})
    assert "rahasia" not in str(caught.value)


def test_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "credentials.toml"
    directory.mkdir(mode=0o700)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read_credentials({"PELIHARA_CREDENTIALS": str(directory)})


def test_open_to_others_is_refused(tmp_path: Path) -> None:
    path = _private(tmp_path / "credentials.toml")
    path.chmod(0o640)
    with pytest.raises(ConfigurationError, match="chmod 600") as caught:
        read_credentials({"PELIHARA_CREDENTIALS": str(path)})
    assert "rahasia" not in str(caught.value)
