"""Column parsers, on their own (pure functions)."""

from __future__ import annotations

import pytest

from pelihara.inventory import fields


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("15,5", 15.5), ("15.5", 15.5), ("64", 64.0), (" 1 024 ", 1024.0)],
)
def test_number_accepts_decimal_comma_and_point(cell: str, expected: float) -> None:
    assert fields.number(cell) == expected


@pytest.mark.parametrize("cell", ["1.024,5", "abc", "", "15,5,5"])
def test_number_rejects_ambiguous_or_garbage(cell: str) -> None:
    with pytest.raises(ValueError, match="number"):
        fields.number(cell)


def test_ip_list_splits_on_spaces_and_commas_and_normalises() -> None:
    assert fields.ip_list("10.0.0.1, 10.0.0.2 2001:DB8:0:0::1") == [
        "10.0.0.1",
        "10.0.0.2",
        "2001:db8::1",
    ]


@pytest.mark.parametrize("cell", ["10.0.0.256", "10.0.0.1 10.0.0.1", "host.example"])
def test_ip_list_rejects(cell: str) -> None:
    with pytest.raises(ValueError):
        fields.ip_list(cell)


def test_domain_lowercases_and_strips_root_dot() -> None:
    assert fields.domain("SIMPUS.Dinkes.kotacontoh.go.id.") == "simpus.dinkes.kotacontoh.go.id"


@pytest.mark.parametrize(
    "cell", ["localhost", "bad_label.go.id", "-x.go.id", "a..go.id", "x" * 64 + ".go.id", "a b.id"]
)
def test_domain_rejects(cell: str) -> None:
    with pytest.raises(ValueError, match="domain"):
        fields.domain(cell)


@pytest.mark.parametrize("cell", ["web_01", "-web", "web-", "a" * 64, "web.01"])
def test_hostname_rejects(cell: str) -> None:
    with pytest.raises(ValueError, match="hostname"):
        fields.hostname(cell)


def test_integer_range_and_wholeness() -> None:
    parse = fields.integer(1, 60)
    assert parse("42") == 42
    for bad in ("0", "61", "4,5"):
        with pytest.raises(ValueError):
            parse(bad)


def test_every_column_has_a_parser_and_required_ones_are_the_four() -> None:
    assert fields.REQUIRED == ("hostname", "ip", "domain", "opd")
    assert len(set(fields.COLUMN_NAMES)) == len(fields.COLUMN_NAMES)
