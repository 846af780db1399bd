"""InfluxStore: its write path against the real VictoriaMetrics (same `/api/v2/write`), its
Flux query path against hand-written InfluxDB 2 answers (tests/fixtures/influx/README.md)
served by a local http.server -- no InfluxDB 2 can be installed here.
"""

from __future__ import annotations

import gzip
import json
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pelihara.core.errors import ConfigurationError
from pelihara.timeseries import open_store
from pelihara.timeseries.base import (
    BadPointsError,
    Point,
    Query,
    StoreAuthError,
    StoreError,
    StoreUnavailable,
)
from pelihara.timeseries.influx import (
    InfluxStore,
    csv_tables,
    flux_query,
    flux_string,
    points_from_csv,
    rfc3339_to_ns,
)
from pelihara.timeseries.lineprotocol import to_lines
from pelihara.timeseries.selection import datetime_ns
from pelihara.timeseries.victoria import VictoriaStore
from tests.realservers.base import free_port, http_get
from tests.realservers.victoriametrics import VictoriaMetricsServer, running_victoriametrics

from . import NS_PER_MS, ODD_NAMES, Answer, answering_server, hanging_server, recent_ns, unique

FIXTURES = Path(__file__).parent.parent / "fixtures" / "influx"
TOKEN = "tok-rahasia-123"
START = datetime(2024, 5, 1, tzinfo=UTC)
HOUR = Query("cpu", START, START + timedelta(hours=1))
SECOND = 1_000_000_000


@pytest.fixture(autouse=True)
def no_outside_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token from the environment or a credentials file of the machine running the tests."""
    monkeypatch.delenv("PELIHARA_INFLUX_TOKEN", raising=False)
    empty = tmp_path / "credentials.toml"  # a named file must exist: an empty one, 0600
    empty.touch(mode=0o600)
    monkeypatch.setenv("PELIHARA_CREDENTIALS", str(empty))


def influx_url(port: int, extra: str = "") -> str:
    return f"influxdb://127.0.0.1:{port}?org=pelihara&bucket=metrics{extra}"


@pytest.fixture
def store(victoriametrics_server: VictoriaMetricsServer) -> Iterator[InfluxStore]:
    opened = InfluxStore(influx_url(victoriametrics_server.port, "&timeout=5"))
    yield opened
    opened.close()


def read_back(vm: VictoriaMetricsServer, measurement: str, t: int, **tags: str) -> list[Point]:
    """What VictoriaMetrics holds, through its own export (VictoriaStore)."""
    vm.force_flush()
    start = datetime.fromtimestamp(t / SECOND, UTC)
    reader = VictoriaStore(f"victoriametrics://127.0.0.1:{vm.port}")
    return reader.query(Query(measurement, start, start + timedelta(minutes=1), tags))


def as_stored(point: Point) -> Point:
    fields = {k: float(v) for k, v in point.fields.items() if not isinstance(v, str)}
    return Point(point.measurement, point.tags, fields, point.time_ns // NS_PER_MS * NS_PER_MS)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ns(text: str) -> int:
    return rfc3339_to_ns(text)


# --- URL ------------------------------------------------------------------------------------


def test_open_store_for_both_schemes() -> None:
    plain = open_store("influxdb://influx.dc?org=o&bucket=b")
    tls = open_store("influxdbs://influx.dc:443?org=o&bucket=b")
    assert isinstance(plain, InfluxStore)
    assert isinstance(tls, InfluxStore)
    assert plain._client.url == "http://influx.dc:8086"
    assert tls._client.url == "https://influx.dc:443"
    plain.close()
    tls.close()


def test_bucket_is_required() -> None:
    with pytest.raises(ConfigurationError, match="bucket"):
        InfluxStore("influxdb://influx.dc?org=o")


def test_credentials_in_the_url_are_refused_unshown() -> None:
    with pytest.raises(ConfigurationError, match="PELIHARA_INFLUX_TOKEN") as caught:
        InfluxStore("influxdb://admin:pa55word@influx.dc?bucket=b")
    assert "pa55word" not in str(caught.value)


def test_token_is_never_in_url_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PELIHARA_INFLUX_TOKEN", TOKEN)
    store = InfluxStore("influxdb://influx.dc?org=o&bucket=b")
    assert TOKEN not in store.url
    assert TOKEN not in repr(store)
    store.close()


# --- Flux and CSV: pure ---------------------------------------------------------------------


def test_flux_query_escapes_strings() -> None:
    q = Query('c"p\\u ${x}', START, START + timedelta(seconds=1, microseconds=1))
    q = Query(q.measurement, q.start, q.end, {"ho st": 'a"b\nc\\', "dc": "${env}"})
    assert flux_query("db/autogen", q) == (
        'from(bucket: "db/autogen")\n'
        "  |> range(start: 2024-05-01T00:00:00.000000000Z, stop: 2024-05-01T00:00:01.000001000Z)\n"
        '  |> filter(fn: (r) => r._measurement == "c\\"p\\\\u \\${x}" and r["dc"] == "\\${env}"'
        ' and r["ho st"] == "a\\"b\\nc\\\\")\n'
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
    )


def test_flux_string_leaves_a_lone_dollar() -> None:
    assert flux_string("cost $5 {x}") == '"cost $5 {x}"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.000000001Z", 1),
        ("1970-01-01T00:00:01.5Z", 1_500_000_000),
        ("1970-01-01T07:00:00+07:00", 0),
        ("1969-12-31T23:59:59.999999999Z", -1),
        ("2024-05-01T00:10:00.123456789Z", datetime_ns(START) + 600 * SECOND + 123_456_789),
    ],
)
def test_rfc3339_to_ns(text: str, expected: int) -> None:
    assert rfc3339_to_ns(text) == expected


def test_rfc3339_garbage_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="RFC 3339"):
        rfc3339_to_ns("yesterday")


def test_pivoted_answer_gives_points_with_types_and_nanoseconds() -> None:
    points = points_from_csv(fixture("pivot_cpu.csv").decode())
    assert sorted(points, key=lambda p: p.time_ns) == [
        Point(
            "cpu",
            {"host": "web 2,x=ü"},
            {"cores": -3, "note": "line1\nline2 \\ back", "ok": True, "usage": 1e-05},
            ns("2024-05-01T00:10:00.000000001Z"),
        ),
        Point(
            "cpu",
            {"host": "web1"},
            {"cores": 8, "note": 'rack 3, row "B"', "ok": True, "usage": 42.5},
            ns("2024-05-01T00:10:00.123456789Z"),
        ),
        Point("cpu", {"host": "web1"}, {"cores": 8, "ok": False}, ns("2024-05-01T00:11:00Z")),
    ]
    assert all(type(p.fields["cores"]) is int for p in points)


def test_schema_change_starts_a_new_table() -> None:
    tables = list(csv_tables(fixture("pivot_schema_change.csv").decode()))
    assert [len(rows) for _, rows in tables] == [1, 2]
    points = points_from_csv(fixture("pivot_schema_change.csv").decode())
    mount = {"host": "db1", "mount": "/var/lib/pgsql"}
    assert points == [
        Point("disk", {"host": "db1"}, {"used": 1048576}, ns("2024-05-01T00:05:00Z")),
        Point(
            "disk",
            mount,
            {"inodes": 2**64 - 1, "ro": False, "used": 2097152},
            ns("2024-05-01T00:05:00Z"),
        ),
        Point(
            "disk", mount, {"inodes": 12, "ro": True, "used": 2097153}, ns("2024-05-01T00:06:00Z")
        ),
    ]


def test_empty_answer_is_no_points() -> None:
    assert points_from_csv(fixture("empty.csv").decode()) == []


def test_error_table_after_results_is_a_store_error() -> None:
    with pytest.raises(StoreError, match='column "usage" is both of type float and int'):
        points_from_csv(fixture("partial_then_error.csv").decode())


def test_default_annotation_fills_empty_cells() -> None:
    text = (
        "#datatype,string,long,dateTime:RFC3339,string,string,double\n"
        "#group,false,false,false,true,true,false\n"
        "#default,_result,,,cpu,web9,\n"
        ",result,table,_time,_measurement,host,usage\n"
        ",,0,2024-05-01T00:00:00Z,,,2.5\n"
    )
    assert points_from_csv(text) == [
        Point("cpu", {"host": "web9"}, {"usage": 2.5}, ns("2024-05-01T00:00:00Z"))
    ]


# --- the query path against recorded answers ----------------------------------------------


def test_query_sends_flux_with_token_and_reads_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PELIHARA_INFLUX_TOKEN", TOKEN)
    answer = Answer(body=fixture("pivot_cpu.csv"), content_type="text/csv; charset=utf-8")
    with answering_server(answer) as port:
        store = InfluxStore(influx_url(port))
        got = store.query(HOUR)
        store.close()
    assert [p.time_ns for p in got] == sorted(p.time_ns for p in got)
    assert len(got) == 3
    [seen] = answer.seen
    assert seen.method == "POST"
    assert urllib.parse.urlsplit(seen.path).path == "/api/v2/query"
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query) == {"org": ["pelihara"]}
    assert seen.headers["Authorization"] == f"Token {TOKEN}"
    body = json.loads(seen.body)
    assert body["query"] == flux_query("metrics", HOUR)
    assert body["dialect"]["annotations"] == ["datatype", "group", "default"]
    assert body["dialect"]["dateTimeFormat"] == "RFC3339Nano"


def test_query_keeps_only_the_wanted_tags_and_window() -> None:
    answer = Answer(body=fixture("pivot_cpu.csv"))
    with answering_server(answer) as port:
        store = InfluxStore(influx_url(port))
        web1 = store.query(Query("cpu", START, START + timedelta(minutes=11), {"host": "web1"}))
        store.close()
    assert [p.tags["host"] for p in web1] == ["web1"]  # 00:11:00 is the (excluded) end


def test_empty_window_asks_nothing() -> None:
    answer = Answer(body=fixture("pivot_cpu.csv"))
    with answering_server(answer) as port:
        store = InfluxStore(influx_url(port))
        assert store.query(Query("cpu", START, START)) == []
        store.close()
    assert answer.seen == []


def test_query_error_table_names_the_store() -> None:
    with answering_server(Answer(body=fixture("partial_then_error.csv"))) as port:
        store = InfluxStore(influx_url(port))
        with pytest.raises(StoreError, match=r"influxdb://127\.0\.0\.1:\d+.*schema collision"):
            store.query(HOUR)
        store.close()


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "compilation failed: error @3:6-3:12: undefined identifier fitler", StoreError),
        (401, "unauthorized access", StoreAuthError),
        (404, 'failed to initialize execute state: could not find bucket "metrics"', StoreError),
        (429, "org has exceeded limited_query plan limit", StoreUnavailable),
        (503, "service unavailable", StoreUnavailable),
    ],
)
def test_query_statuses_map_to_errors(status: int, message: str, error: type[StoreError]) -> None:
    body = json.dumps({"code": "x", "message": message}).encode()
    with answering_server(
        Answer(status=status, body=body, content_type="application/json")
    ) as port:
        store = InfluxStore(influx_url(port))
        with pytest.raises(error, match=f"HTTP {status}: query failed: ") as caught:
            store.query(HOUR)
        store.close()
    assert message in str(caught.value)
    assert type(caught.value) is error


# --- the write path against the real VictoriaMetrics ---------------------------------------


@pytest.mark.parametrize("odd", ODD_NAMES)
def test_write_odd_names_reach_the_server(
    store: InfluxStore, victoriametrics_server: VictoriaMetricsServer, odd: str
) -> None:
    m, run, t = f"i {odd} {unique('')}", unique("run"), recent_ns()
    field_key = f"f {odd}" if '"' not in odd else "f plain"  # VictoriaMetrics' parser, not ours
    point = Point(m, {odd: f"v {odd}", "run": run}, {field_key: 2.5, "n": 7, "ok": True}, t)
    store.write([point])
    assert read_back(victoriametrics_server, m, t, run=run) == [as_stored(point)]


def test_rewrite_is_stored_once(
    store: InfluxStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    m, t = unique("irewrite"), recent_ns()
    points = [Point(m, {"host": "a"}, {"v": float(i)}, t + i * NS_PER_MS) for i in range(20)]
    store.write(points)
    store.write(points)
    assert read_back(victoriametrics_server, m, t) == points
    match = urllib.parse.urlencode({"match[]": f'{{__name__="{m}_v"}}'})
    [line] = http_get(f"{victoriametrics_server.base_url}/api/v1/export?{match}").splitlines()
    assert len(json.loads(line)["timestamps"]) == 20


def test_invalid_points_are_refused_and_the_rest_written(
    store: InfluxStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    m, t = unique("ibad"), recent_ns()
    good, bad = Point(m, {}, {"v": 1.0}, t), Point(m, {}, {"v": float("nan")}, t + NS_PER_MS)
    with pytest.raises(BadPointsError) as caught:
        store.write([good, bad])
    assert [item.point for item in caught.value.rejected] == [bad]
    assert read_back(victoriametrics_server, m, t) == [good]


def test_too_long_line_is_400_for_the_whole_request(store: InfluxStore) -> None:
    m, t = unique("ilong"), recent_ns()
    points = [Point(m, {}, {"v": 1.0}, t), Point(m, {"big": "x" * 300_000}, {"v": 2.0}, t)]
    with pytest.raises(BadPointsError) as caught:
        store.write(points)
    assert [item.point for item in caught.value.rejected] == points
    assert "HTTP 400" in caught.value.rejected[0].reason
    assert "too long line" in caught.value.rejected[0].reason


def test_rejected_token_is_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PELIHARA_INFLUX_TOKEN", TOKEN)
    flags = ["-httpAuth.username=pelihara", "-httpAuth.password=other-secret"]
    with running_victoriametrics(extra_flags=flags) as vm:
        store = InfluxStore(influx_url(vm.port))
        with pytest.raises(StoreAuthError, match="HTTP 401") as caught:
            store.write([Point("m", {}, {"v": 1.0}, recent_ns())])
        with pytest.raises(StoreAuthError):
            store.query(HOUR)
        store.close()
    assert TOKEN not in str(caught.value)


def test_connection_refused_is_unavailable() -> None:
    store = InfluxStore(influx_url(free_port()))
    with pytest.raises(StoreUnavailable, match="Connection refused"):
        store.write([Point("m", {}, {"v": 1.0}, recent_ns())])
    with pytest.raises(StoreUnavailable):
        store.query(HOUR)
    store.close()


def test_server_that_never_answers_is_unavailable_within_the_timeout() -> None:
    with hanging_server() as port:
        store = InfluxStore(influx_url(port, "&timeout=0.5"))
        point = Point("m", {}, {"v": 1.0}, recent_ns())
        for call in (lambda: store.write([point]), lambda: store.query(HOUR)):
            began = time.monotonic()
            with pytest.raises(StoreUnavailable, match=r"no answer within 0\.5 s"):
                call()
            assert time.monotonic() - began < 3
        store.close()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, StoreAuthError),
        (403, StoreAuthError),
        (429, StoreUnavailable),
        (503, StoreUnavailable),
    ],
)
def test_write_statuses_map_to_errors(status: int, error: type[StoreError]) -> None:
    body = json.dumps({"code": "x", "message": "server says no"}).encode()
    with answering_server(
        Answer(status=status, body=body, content_type="application/json")
    ) as port:
        store = InfluxStore(influx_url(port))
        with pytest.raises(error, match=f"HTTP {status}: server says no"):
            store.write([Point("m", {}, {"v": 1.0}, recent_ns())])
        store.close()


def test_422_refuses_the_points_with_influxdb_s_message() -> None:
    message = (
        "failure writing points to database: partial write: field type conflict:"
        ' input field "v" on measurement "m" is type integer, already exists as type float'
        " dropped=1"
    )
    body = json.dumps({"code": "unprocessable entity", "message": message}).encode()
    points = [Point("m", {}, {"v": 1}, recent_ns())]
    with answering_server(Answer(status=422, body=body, content_type="application/json")) as port:
        store = InfluxStore(influx_url(port))
        with pytest.raises(BadPointsError) as caught:
            store.write(points)
        store.close()
    assert [(r.point, r.reason) for r in caught.value.rejected] == [
        (points[0], f"HTTP 422: {message}")
    ]


def test_write_request_is_gzipped_ns_line_protocol_with_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PELIHARA_INFLUX_TOKEN", TOKEN)
    answer = Answer(status=204)
    points = [Point("cpu", {"host": "a b"}, {"usage": 1.5, "serial": 'S"N'}, recent_ns())]
    with answering_server(answer) as port:
        store = InfluxStore(influx_url(port))
        store.write(points)
        store.close()
    [seen] = answer.seen
    parts = urllib.parse.urlsplit(seen.path)
    assert parts.path == "/api/v2/write"
    assert urllib.parse.parse_qs(parts.query) == {
        "org": ["pelihara"],
        "bucket": ["metrics"],
        "precision": ["ns"],
    }
    assert seen.headers["Authorization"] == f"Token {TOKEN}"
    assert seen.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(seen.body) == to_lines(points)


def test_no_token_sends_no_authorization() -> None:
    answer = Answer(status=204)
    with answering_server(answer) as port:
        store = InfluxStore(influx_url(port))
        store.write([Point("m", {}, {"v": 1.0}, recent_ns())])
        store.close()
    assert "Authorization" not in answer.seen[0].headers
