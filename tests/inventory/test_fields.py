"""Column parsers, on their own (pure functions)."""

from __future__ import annotations

import pytest

from pelihara.inventory import fields, numbers


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


# --- issue 11, 1: numbers and types -------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "choices"),
    [("1.920", "write 1920 or 1.92"), ("1.024", "write 1024 or 1.0240"),
     ("1,024", "write 1024 or 1,0240"), ("2.000", "write 2000 or 2"), ("-1.500", "-1500 or -1.5")],
)  # fmt: skip
def test_a_thousands_shaped_number_alone_is_ambiguous_and_says_how_to_write_it(
    cell: str, choices: str
) -> None:
    with pytest.raises(ValueError, match="ambiguous") as caught:
        fields.number(cell)
    assert choices in str(caught.value)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("0.125", 0.125), ("0,125", 0.125), ("1024,5", 1024.5), ("1.024.000", 1024000.0),
     ("1,024,000", 1024000.0), ("1 920", 1920.0), ("1.92", 1.92), ("1E+3", 1000.0)],
)  # fmt: skip
def test_numbers_that_are_not_ambiguous(cell: str, expected: float) -> None:
    assert fields.number(cell) == expected


@pytest.mark.parametrize("cell", ["inf", "nan", "-inf", "Infinity", "1e400", "0x10", "1_000"])
def test_not_finite_or_not_plain_is_not_a_number(cell: str) -> None:
    for parse in (fields.number, fields.integer(1, 4096), fields.decimal(0, 1_048_576)):
        with pytest.raises(ValueError, match="is not a number"):
            parse(cell)


@pytest.mark.parametrize(
    ("cells", "sign"),
    [(["15,5", "1.920"], ","), (["1.024.000"], ","), (["15.5", "1.920"], "."),
     (["1,024,000"], "."), (["1.920", "64"], None), (["15,5", "2.5"], None), ([], None)],
)  # fmt: skip
def test_a_file_convention_is_certain_only_with_evidence_of_one_kind(
    cells: list[str], sign: str | None
) -> None:
    assert numbers.convention(cells) == sign


def test_settle_rewrites_only_the_ambiguous_shape() -> None:
    assert fields.number(numbers.settle("1.920", ",")) == 1920
    assert fields.number(numbers.settle("1.920", ".")) == 1.92
    assert fields.number(numbers.settle("1,024", ",")) == 1.024
    assert fields.number(numbers.settle("1,024", ".")) == 1024
    assert numbers.settle("15,5", ".") == "15,5"  # evidence, not ambiguity: left alone
    assert fields.number(numbers.Exact(1.024)) == 1.024  # an XLSX number cell


@pytest.mark.parametrize("cell", ["10.0.0.300", "kota.go.123", "a.0x7f", "1.2.3.4.5"])
def test_a_domain_never_ends_in_a_number(cell: str) -> None:
    with pytest.raises(ValueError, match="last label is a number"):
        fields.domain(cell)
    with pytest.raises(ValueError):
        fields.host_or_address(cell)


def test_ssh_host_takes_addresses_domains_and_labels_but_not_numbers() -> None:
    assert fields.host_or_address("10.0.0.30") == "10.0.0.30"
    assert fields.host_or_address("123.kota.go.id") == "123.kota.go.id"
    assert fields.host_or_address("web01") == "web01"
    for cell in ("1234", "0x7f000001"):
        with pytest.raises(ValueError, match="neither an IP address nor a host name"):
            fields.host_or_address(cell)
