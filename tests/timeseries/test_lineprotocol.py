"""Line protocol text and point validity: pure functions, no server."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pelihara.timeseries.base import BadPointsError, Point
from pelihara.timeseries.lineprotocol import field_text, problem, to_line, to_lines, write_checked

T = 1_700_000_000_123_456_789


def test_plain_point() -> None:
    point = Point("cpu", {"host": "web1", "cpu": "0"}, {"usage": 42.5, "cores": 8}, T)
    assert to_line(point) == f"cpu,cpu=0,host=web1 cores=8i,usage=42.5 {T}"


@pytest.mark.parametrize(
    ("measurement", "expected"),
    [
        ("with space", "with\\ space"),
        ("com,ma", "com\\,ma"),
        ("equ=als", "equ=als"),  # `=` needs no escape in a measurement
        ("back\\slash", "back\\\\slash"),
        ("trailing\\", "trailing\\\\"),
        ('dou"ble', 'dou"ble'),
        ("ünï 日本", "ünï 日本".replace(" ", "\\ ")),
    ],
)
def test_measurement_escaping(measurement: str, expected: str) -> None:
    line = to_line(Point(measurement, {}, {"v": 1.0}, T))
    assert line == f"{expected} v=1.0 {T}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("with space", "with\\ space"),
        ("com,ma", "com\\,ma"),
        ("equ=als", "equ\\=als"),
        ("trailing\\", "trailing\\\\"),
        ('dou"ble', 'dou"ble'),
    ],
)
def test_tag_and_field_key_escaping(text: str, expected: str) -> None:
    line = to_line(Point("m", {text: text}, {f"f {text}": 1}, T))
    assert line == f"m,{expected}={expected} f\\ {expected}=1i {T}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0i"),
        (-(2**63), f"{-(2**63)}i"),
        (1.0, "1.0"),
        (1e20, "1e+20"),
        (0.1, "0.1"),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash\\", '"back\\\\slash\\\\"'),
        ("two\nlines", '"two\nlines"'),  # literal inside the quotes: InfluxDB's scanner allows it
        ("", '""'),
    ],
)
def test_field_values(value: float | int | str | bool, expected: str) -> None:
    assert field_text(value) == expected


def test_lines_body_is_utf8_one_line_per_point() -> None:
    points = [Point("m", {"h": "ü"}, {"v": i}, T + i) for i in range(3)]
    assert to_lines(points) == "".join(f"m,h=ü v={i}i {T + i}\n" for i in range(3)).encode()


@pytest.mark.parametrize(
    ("point", "reason"),
    [
        (Point("", {}, {"v": 1}, T), "measurement is empty"),
        (Point("#comment", {}, {"v": 1}, T), "comment"),
        (Point("two\nlines", {}, {"v": 1}, T), "line break"),
        (Point("m", {}, {}, T), "no fields"),
        (Point("m", {"h": ""}, {"v": 1}, T), "no value"),
        (Point("m", {"": "x"}, {"v": 1}, T), "is empty"),
        (Point("m", {1: "x"}, {"v": 1}, T), "not a string"),  # type: ignore[dict-item]
        (Point("m", {"h": 1}, {"v": 1}, T), "not a string"),  # type: ignore[dict-item]
        (Point(7, {}, {"v": 1}, T), "not a string"),  # type: ignore[arg-type]
        (Point("m", {}, {"": 1}, T), "is empty"),
        (Point("m", {"h": "a\nb"}, {"v": 1}, T), "line break"),
        (Point("m", {"time": "x"}, {"v": 1}, T), "reserved"),
        (Point("m", {}, {"_value": 1}, T), "reserved"),
        (Point("m", {"table": "x"}, {"v": 1}, T), "reserved"),
        (Point("m", {"h": "x"}, {"h": 1}, T), "both a tag and a field"),
        (Point("m", {}, {"v": float("nan")}, T), "not finite"),
        (Point("m", {}, {"v": float("inf")}, T), "not finite"),
        (Point("m", {}, {"v": 2**63}, T), "not int64"),
        (Point("m", {}, {"v": None}, T), "is not float"),  # type: ignore[dict-item]
        (Point("m", {}, {"v": 1}, 1.5), "not an integer"),  # type: ignore[arg-type]
        (Point("m", {}, {"v": 1}, True), "not an integer"),
        (Point("m", {}, {"v": 1}, 2**63), "not int64"),
    ],
)
def test_problem(point: Point, reason: str) -> None:
    found = problem(point)
    assert found is not None
    assert reason in found


def test_odd_but_valid_points_have_no_problem() -> None:
    point = Point('m "x"', {"k,=\\ ": "v,=\\ 日本"}, {"s": 'a"b\nc', "i": -1, "b": False}, 0)
    assert problem(point) is None


def test_write_checked_sends_the_good_then_names_the_bad() -> None:
    sent: list[Sequence[Point]] = []
    good = [Point("m", {}, {"v": 1}, T), Point("m", {}, {"v": 2}, T + 1)]
    bad = Point("m", {}, {}, T)
    with pytest.raises(BadPointsError) as caught:
        write_checked([good[0], bad, good[1]], sent.append)
    assert sent == [good]
    assert [item.point for item in caught.value.rejected] == [bad]
    assert "no fields" in caught.value.rejected[0].reason


def test_write_checked_sends_nothing_when_all_are_bad() -> None:
    sent: list[Sequence[Point]] = []
    with pytest.raises(BadPointsError):
        write_checked([Point("m", {}, {}, T)], sent.append)
    assert sent == []
