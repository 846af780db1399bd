"""Store URLs taken apart, and HTTP statuses as store errors: pure functions."""

from __future__ import annotations

import base64

import pytest

from pelihara.core.errors import ConfigurationError
from pelihara.timeseries.base import (
    BadPointsError,
    Point,
    StoreAuthError,
    StoreError,
    StoreUnavailable,
)
from pelihara.timeseries.remote import parse_remote_url, short, status_error, write_status_error


def test_plain_url_with_default_port_and_timeout() -> None:
    remote = parse_remote_url("victoriametrics://vm.dc", "victoriametrics", 8428)
    assert (remote.base, remote.shown, remote.timeout_seconds) == (
        "http://vm.dc:8428",
        "victoriametrics://vm.dc:8428",
        10.0,
    )
    assert remote.basic_auth() == {}


def test_tls_ipv6_prefix_and_options() -> None:
    remote = parse_remote_url(
        "influxdbs://[::1]:8443/influx/?org=o&bucket=db/rp&timeout=2.5",
        "influxdb",
        8086,
        allowed=("org", "bucket"),
    )
    assert remote.base == "https://[::1]:8443/influx"
    assert remote.options == {"org": "o", "bucket": "db/rp"}
    assert remote.timeout_seconds == 2.5


def test_password_is_decoded_for_use_and_masked_for_show() -> None:
    remote = parse_remote_url("victoriametrics://ops:p%40ss%3Aw@vm.dc", "victoriametrics", 8428)
    assert remote.shown == "victoriametrics://ops:***@vm.dc:8428"
    assert "p%40ss" not in repr(remote)
    header = remote.basic_auth()["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == b"ops:p@ss:w"


@pytest.mark.parametrize(
    "url",
    [
        "http://vm.dc",
        "victoriametrics://",
        "victoriametrics://vm.dc?timeout=-1",
        "victoriametrics://vm.dc?timeout=nan",
        "victoriametrics://vm.dc?password=hunter2",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_remote_url(url, "victoriametrics", 8428)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, StoreError),
        (401, StoreAuthError),
        (403, StoreAuthError),
        (404, StoreError),
        (408, StoreUnavailable),
        (413, StoreError),
        (422, StoreError),
        (429, StoreUnavailable),
        (500, StoreUnavailable),
        (504, StoreUnavailable),
    ],
)
def test_status_error(status: int, error: type[StoreError]) -> None:
    found = status_error(status, "why", "victoriametrics://vm.dc:8428")
    assert type(found) is error
    assert str(found) == f"victoriametrics://vm.dc:8428: HTTP {status}: why"


@pytest.mark.parametrize("status", [400, 422])
def test_write_status_error_refuses_the_request_s_points(status: int) -> None:
    points = [Point("m", {}, {"v": 1}, 1), Point("m", {}, {"v": 2}, 2)]
    found = write_status_error(status, "bad line", "u", points)
    assert isinstance(found, BadPointsError)
    assert [(r.point, r.reason) for r in found.rejected] == [
        (p, f"HTTP {status}: bad line") for p in points
    ]


def test_short_makes_one_bounded_line() -> None:
    assert short(b"two\n  lines\r\n") == "two lines"
    assert short(None) == ""
    assert short("x" * 600) == "x" * 500 + "..."
