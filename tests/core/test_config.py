"""`pelihara.toml`: a missing file is fine, a malformed one stops the command naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pelihara.cli.main import cli
from pelihara.core.config import config_path, load_config
from pelihara.core.errors import ConfigurationError


def test_missing_file_is_an_empty_configuration(tmp_path: Path) -> None:
    config = load_config(tmp_path / "pelihara.toml")
    assert dict(config.tables) == {} and dict(config.table("organisation")) == {}


def test_tables_are_read(tmp_path: Path) -> None:
    path = tmp_path / "pelihara.toml"
    path.write_text('[organisation]\nname = "Diskominfo Kota Contoh"\n', encoding="utf-8")
    assert load_config(path).table("organisation")["name"] == "Diskominfo Kota Contoh"


def test_malformed_file_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "pelihara.toml"
    path.write_text('[organisation]\nname = "ok"\nkepala = \n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "line 3" in str(caught.value)


def test_a_value_where_a_table_belongs_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pelihara.toml"
    path.write_text('organisation = "Diskominfo"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"\[organisation\] must be a table"):
        load_config(path).table("organisation")


def test_the_file_is_found_in_pelihara_home_or_by_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELIHARA_HOME", str(tmp_path / "home"))
    assert config_path({}) == tmp_path / "home" / "pelihara.toml"
    assert config_path({"PELIHARA_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"


def test_every_command_stops_on_a_malformed_file_with_status_2(tmp_path: Path) -> None:
    (tmp_path / "pelihara.toml").write_text("[organisation\n", encoding="utf-8")
    env = {"PELIHARA_HOME": str(tmp_path), "PELIHARA_DB": "", "PELIHARA_CONFIG": ""}
    result = CliRunner().invoke(cli, ["init"], env=env)
    assert result.exit_code == 2
    assert f"{tmp_path / 'pelihara.toml'}: not valid TOML" in result.stderr
    assert "line 1" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "pelihara.db").exists()
