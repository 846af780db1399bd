"""The InfluxDB token: environment first, then a credentials file only its owner can read."""

from __future__ import annotations

from pathlib import Path

import pytest

from pelihara.core.errors import ConfigurationError
from pelihara.timeseries.base import Point
from pelihara.timeseries.influx import InfluxStore
from pelihara.timeseries.token import influx_token

from . import Answer, answering_server, recent_ns

SECRET = "file-token-rahasia"


def credentials(tmp_path: Path, text: str, mode: int = 0o600) -> dict[str, str]:
    path = tmp_path / "credentials.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return {"PELIHARA_CREDENTIALS": str(path)}


def test_token_from_the_file(tmp_path: Path) -> None:
    env = credentials(tmp_path, f'[ssh]\nuse_agent = true\n\n[influxdb]\ntoken = "{SECRET}"\n')
    assert influx_token(env) == SECRET


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    env = credentials(tmp_path, f'[influxdb]\ntoken = "{SECRET}"\n')
    assert influx_token({**env, "PELIHARA_INFLUX_TOKEN": "from-env"}) == "from-env"


@pytest.mark.parametrize("text", ["", "[ssh]\nuse_agent = true\n", '[influxdb]\ntoken = ""\n'])
def test_no_token_is_none(tmp_path: Path, text: str) -> None:
    assert influx_token(credentials(tmp_path, text)) is None


def test_missing_file_is_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path))  # no credentials.toml there
    assert influx_token({}) is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    env = credentials(tmp_path, f'[influxdb]\ntoken = "{SECRET}"\n', mode)
    with pytest.raises(ConfigurationError, match="chmod 600") as caught:
        influx_token(env)
    assert SECRET not in str(caught.value)


def test_broken_toml_does_not_quote_the_token(tmp_path: Path) -> None:
    env = credentials(tmp_path, f'[influxdb]\ntoken = "{SECRET}\n')
    with pytest.raises(ConfigurationError, match="not valid TOML") as caught:
        influx_token(env)
    assert SECRET not in str(caught.value)


def test_token_must_be_a_string(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        influx_token(credentials(tmp_path, "[influxdb]\ntoken = 12345\n"))


def test_store_sends_the_file_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = credentials(tmp_path, f'[influxdb]\ntoken = "{SECRET}"\n')
    monkeypatch.delenv("PELIHARA_INFLUX_TOKEN", raising=False)
    monkeypatch.setenv("PELIHARA_CREDENTIALS", env["PELIHARA_CREDENTIALS"])
    answer = Answer(status=204)
    with answering_server(answer) as port:
        store = InfluxStore(f"influxdb://127.0.0.1:{port}?org=o&bucket=b")
        store.write([Point("m", {}, {"v": 1.0}, recent_ns())])
        store.close()
    assert answer.seen[0].headers["Authorization"] == f"Token {SECRET}"
