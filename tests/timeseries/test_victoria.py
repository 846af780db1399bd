"""VictoriaStore against the real VictoriaMetrics of the session (run with the dedup flag).

A second VictoriaMetrics with `-httpAuth.*` (and, as packaged, without the dedup flag) gives
the 401s, a successful basic-auth login and the proof that de-duplication needs the flag.
In-process servers only for a server that never answers and for statuses VictoriaMetrics does
not send (422, 429, 5xx).
"""

from __future__ import annotations

import gzip
import json
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime

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
from pelihara.timeseries.victoria import (
    VictoriaStore,
    export_params,
    label_name,
    metricsql_string,
    points_from_export,
    re2_quote,
    selector,
)
from tests.realservers.base import free_port, http_get
from tests.realservers.victoriametrics import VictoriaMetricsServer, running_victoriametrics

from . import (
    NS_PER_MS,
    ODD_NAMES,
    Answer,
    answering_server,
    basic_get,
    hanging_server,
    recent_ns,
    unique,
)

USER, PASSWORD = "pelihara", "rahasia-vm-1"
SECOND = 1_000_000_000


@pytest.fixture
def store(victoriametrics_server: VictoriaMetricsServer) -> Iterator[VictoriaStore]:
    opened = VictoriaStore(f"victoriametrics://127.0.0.1:{victoriametrics_server.port}?timeout=5")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def auth_vm() -> Iterator[VictoriaMetricsServer]:
    """VictoriaMetrics with basic auth and without `-dedup.minScrapeInterval` (the default)."""
    flags = [f"-httpAuth.username={USER}", f"-httpAuth.password={PASSWORD}"]
    with running_victoriametrics(extra_flags=flags) as server:
        yield server


def window(start_ns: int, seconds: float = 60) -> tuple[datetime, datetime]:
    start = datetime.fromtimestamp(start_ns / SECOND, UTC)
    return start, datetime.fromtimestamp(start_ns / SECOND + seconds, UTC)


def query(measurement: str, start_ns: int, seconds: float = 60, **tags: str) -> Query:
    start, end = window(start_ns, seconds)
    return Query(measurement, start, end, tags)


def written_and_read(
    store: VictoriaStore, vm: VictoriaMetricsServer, points: list[Point], q: Query
) -> list[Point]:
    store.write(points)
    vm.force_flush()
    return store.query(q)


def export(base_url: str, match: str, auth: bool = False) -> list[dict[str, object]]:
    """Raw `/api/v1/export`: every stored sample, duplicates included."""
    url = f"{base_url}/api/v1/export?{urllib.parse.urlencode({'match[]': match})}"
    body = basic_get(url, USER, PASSWORD) if auth else http_get(url)
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def as_stored(point: Point) -> Point:
    """What VictoriaMetrics gives back: numbers as float, time cut to the millisecond."""
    fields = {k: float(v) for k, v in point.fields.items() if not isinstance(v, str)}
    return Point(point.measurement, point.tags, fields, point.time_ns // NS_PER_MS * NS_PER_MS)


# --- URL, selector and parsing: no server -------------------------------------------------


def test_open_store_for_both_schemes() -> None:
    plain = open_store("victoriametrics://vm.dc:8428")
    tls = open_store("victoriametricss://vm.dc")
    assert isinstance(plain, VictoriaStore)
    assert isinstance(tls, VictoriaStore)
    assert plain._remote.base == "http://vm.dc:8428"
    assert tls._remote.base == "https://vm.dc:8428"


def test_password_is_masked_in_url_and_repr() -> None:
    store = VictoriaStore(f"victoriametrics://{USER}:{PASSWORD}@vm.dc:8428/vm?timeout=3")
    assert store.url == f"victoriametrics://{USER}:***@vm.dc:8428/vm?timeout=3"
    assert PASSWORD not in repr(store)
    assert store._remote.base == "http://vm.dc:8428/vm"
    assert store._remote.timeout_seconds == 3.0


@pytest.mark.parametrize(
    "url",
    [
        "victoriametrics://vm.dc?timeout=0",
        "victoriametrics://vm.dc?timeout=soon",
        "victoriametrics://vm.dc?token=hunter2",
        "victoriametrics://vm.dc:99999",
        "victoriametrics:///nohost",
    ],
)
def test_bad_urls_are_refused_without_echoing_values(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        VictoriaStore(url)
    assert "hunter2" not in str(caught.value)


def test_selector_escapes_names_values_and_regex() -> None:
    q = Query('a.b"c', datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    q = Query(q.measurement, q.start, q.end, {"host": 'w"1\\', "1 é": "x\ty"})
    assert selector(q) == (
        '{__name__=~"a\\\\.b\\"c_.+",\\x31\\x20\\xc3\\xa9="x\\x09y",host="w\\"1\\\\"}'
    )
    assert re2_quote("a.b*c(d)[e]{f}|g^h$i+j?k\\") == (
        "a\\.b\\*c\\(d\\)\\[e\\]\\{f\\}\\|g\\^h\\$i\\+j\\?k\\\\"
    )
    assert metricsql_string("ünï") == '"ünï"'
    assert label_name("host_1") == "host_1"


def test_export_window_is_whole_ms_inside_start_end() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    base_ms = 1_704_067_200_000
    params = export_params(Query("m", start, datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)))
    assert params is not None
    assert (params["start"], params["end"]) == (f"{base_ms // 1000}.000", f"{base_ms // 1000}.999")
    empty = export_params(Query("m", start, start))
    assert empty is None


def test_points_from_export_groups_fields_by_series_and_ms() -> None:
    lines = [
        b'{"metric":{"__name__":"cpu_usage","host":"a"},"values":[1.5,2],"timestamps":[10,20]}\n',
        b'{"metric":{"__name__":"cpu_ok","host":"a"},"values":[1],"timestamps":[10]}\n',
        b'{"metric":{"__name__":"cpu_usage","host":"b"},"values":[3],"timestamps":[10]}\n',
        b'{"metric":{"__name__":"cpux_usage","host":"b"},"values":[3],"timestamps":[10]}\n',
        b"\n",
    ]
    points = sorted(points_from_export(lines, "cpu"), key=lambda p: (p.time_ns, p.tags["host"]))
    assert points == [
        Point("cpu", {"host": "a"}, {"usage": 1.5, "ok": 1.0}, 10 * NS_PER_MS),
        Point("cpu", {"host": "b"}, {"usage": 3.0}, 10 * NS_PER_MS),
        Point("cpu", {"host": "a"}, {"usage": 2.0}, 20 * NS_PER_MS),
    ]


def test_garbage_export_line_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not an /api/v1/export line"):
        points_from_export([b"<html>proxy error</html>\n"], "cpu")


# --- the real server -----------------------------------------------------------------------


def test_round_trip(store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer) -> None:
    m, t = unique("cpu"), recent_ns()
    points = [
        Point(m, {"host": "web1", "cpu": "0"}, {"usage": 42.5, "cores": 8, "ok": True}, t),
        Point(m, {"host": "web1", "cpu": "1"}, {"usage": 0.25, "cores": 8, "ok": False}, t),
        Point(m, {"host": "web2"}, {"usage": -1e-9, "cores": 2**53, "ok": True}, t + 5 * SECOND),
    ]
    got = written_and_read(store, victoriametrics_server, points, query(m, t))
    assert got == [as_stored(p) for p in sorted(points, key=lambda p: (p.time_ns, p.series_key()))]
    assert all(type(v) is float for p in got for v in p.fields.values())


def test_time_is_cut_to_milliseconds(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    m, t = unique("ms"), recent_ns()
    got = written_and_read(
        store, victoriametrics_server, [Point(m, {}, {"v": 1.0}, t + 999_999)], query(m, t)
    )
    assert [p.time_ns for p in got] == [t]


def test_time_range_is_start_inclusive_end_exclusive(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    m, t = unique("range"), recent_ns()
    offsets_ms = [-1, 0, 1, 59_999, 60_000]
    points = [Point(m, {}, {"v": float(ms)}, t + ms * NS_PER_MS) for ms in offsets_ms]
    got = written_and_read(store, victoriametrics_server, points, query(m, t, seconds=60))
    assert [p.fields["v"] for p in got] == [0.0, 1.0, 59_999.0]


def test_tag_filter_is_a_subset_match(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    m, t = unique("tags"), recent_ns()
    points = [
        Point(m, {"host": "a", "cpu": "0"}, {"v": 1.0}, t),
        Point(m, {"host": "a", "cpu": "1"}, {"v": 2.0}, t),
        Point(m, {"host": "b", "cpu": "0"}, {"v": 3.0}, t),
    ]
    store.write(points)
    victoriametrics_server.force_flush()
    assert [p.fields["v"] for p in store.query(query(m, t, host="a"))] == [1.0, 2.0]
    assert [p.fields["v"] for p in store.query(query(m, t, cpu="0"))] == [1.0, 3.0]
    assert [p.fields["v"] for p in store.query(query(m, t, host="b", cpu="0"))] == [3.0]
    assert store.query(query(m, t, host="b", cpu="1")) == []
    assert store.query(query(m, t, rack="r1")) == []


def test_rewrite_is_stored_once_with_the_dedup_flag(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    m, t = unique("dedup"), recent_ns()
    points = [Point(m, {"host": "a"}, {"v": float(i)}, t + i * NS_PER_MS) for i in range(50)]
    store.write(points)
    store.write(points)
    store.write(points[:10])
    victoriametrics_server.force_flush()
    assert store.query(query(m, t)) == [as_stored(p) for p in points]
    [series] = export(victoriametrics_server.base_url, f'{{__name__="{m}_v"}}')
    assert series["timestamps"] == [t // NS_PER_MS + i for i in range(50)]


def test_without_the_dedup_flag_a_rewrite_is_stored_twice(auth_vm: VictoriaMetricsServer) -> None:
    """Why the fixture (and production) needs `-dedup.minScrapeInterval=1ms`."""
    store = VictoriaStore(f"victoriametrics://{USER}:{PASSWORD}@127.0.0.1:{auth_vm.port}")
    m, t = unique("nodedup"), recent_ns()
    point = Point(m, {"host": "a"}, {"v": 1.0}, t)
    store.write([point])
    store.write([point])
    basic_get(f"{auth_vm.base_url}/internal/force_flush", USER, PASSWORD)
    [series] = export(auth_vm.base_url, f'{{__name__="{m}_v"}}', auth=True)
    assert series["timestamps"] == [t // NS_PER_MS] * 2
    assert store.query(query(m, t)) == [point]  # the reader folds the copies, not the server


def test_string_fields_are_not_sent(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    """VictoriaMetrics would store "SN-1" as 0: string fields stay out of what is sent."""
    m, t = unique("strings"), recent_ns()
    points = [
        Point(m, {"host": "a"}, {"usage": 1.5, "serial": "SN-1"}, t),
        Point(m, {"host": "b"}, {"serial": "SN-2"}, t),
    ]
    got = written_and_read(store, victoriametrics_server, points, query(m, t))
    assert got == [Point(m, {"host": "a"}, {"usage": 1.5}, t)]
    assert export(victoriametrics_server.base_url, f'{{__name__="{m}_serial"}}') == []


@pytest.mark.parametrize("odd", ODD_NAMES)
def test_odd_names_round_trip(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer, odd: str
) -> None:
    m, run, t = f"m {odd} {unique('')}", unique("run"), recent_ns()
    field_key = f"f {odd}" if '"' not in odd else "f plain"  # see test_quote_in_field_key
    point = Point(m, {odd: f"v {odd}", "run": run}, {field_key: 2.5}, t)
    q = Query(m, *window(t), {odd: f"v {odd}", "run": run})
    assert written_and_read(store, victoriametrics_server, [point], q) == [point]


def test_names_are_stored_as_given(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    """VictoriaMetrics 1.79 does not sanitise: the metric is literally measurement_field."""
    m, t = f"san itä,={unique('')}", recent_ns()
    store.write([Point(m, {"k e,y=ü": "v a,l=ü"}, {"f i,e=ld": 1.0}, t)])
    victoriametrics_server.force_flush()
    [series] = export(victoriametrics_server.base_url, f'{{{label_name("k e,y=ü")}="v a,l=ü"}}')
    assert series["metric"] == {"__name__": f"{m}_f i,e=ld", "k e,y=ü": "v a,l=ü"}


def test_quote_in_field_key_is_refused_and_the_rest_written(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    m, t = unique("quote"), recent_ns()
    good, bad = Point(m, {}, {"v": 1.0}, t), Point(m, {}, {'say"hi': 1.0}, t + NS_PER_MS)
    with pytest.raises(BadPointsError) as caught:
        store.write([good, bad])
    assert [item.point for item in caught.value.rejected] == [bad]
    assert "double quote" in caught.value.rejected[0].reason
    victoriametrics_server.force_flush()
    assert store.query(query(m, t)) == [good]


def test_measurement_prefix_is_ambiguous(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    """Documented limit: `cpu` + field `load_avg` and `cpu_load` + `avg` are one metric name."""
    m, t = unique("amb"), recent_ns()
    store.write([Point(m, {}, {"usage": 1.0}, t), Point(f"{m}_load", {}, {"avg": 2.0}, t)])
    victoriametrics_server.force_flush()
    assert store.query(query(m, t)) == [Point(m, {}, {"usage": 1.0, "load_avg": 2.0}, t)]
    assert store.query(query(f"{m}_load", t)) == [Point(f"{m}_load", {}, {"avg": 2.0}, t)]


def test_too_long_line_is_400_for_the_whole_request(
    store: VictoriaStore, victoriametrics_server: VictoriaMetricsServer
) -> None:
    """The only 400 found for line protocol: VictoriaMetrics skips malformed lines with 204."""
    m, t = unique("long"), recent_ns()
    points = [Point(m, {}, {"v": 1.0}, t), Point(m, {"big": "x" * 300_000}, {"v": 2.0}, t)]
    with pytest.raises(BadPointsError) as caught:
        store.write(points)
    assert [item.point for item in caught.value.rejected] == points
    reason = caught.value.rejected[0].reason
    assert reason.startswith("HTTP 400:")
    assert "too long line" in reason


def test_wrong_or_missing_password_is_auth_error(auth_vm: VictoriaMetricsServer) -> None:
    point = Point(unique("auth"), {}, {"v": 1.0}, recent_ns())
    for userinfo in ("", f"{USER}:wrong-pass@"):
        store = VictoriaStore(f"victoriametrics://{userinfo}127.0.0.1:{auth_vm.port}")
        with pytest.raises(StoreAuthError, match="HTTP 401") as caught:
            store.write([point])
        assert "wrong-pass" not in str(caught.value)
        with pytest.raises(StoreAuthError):
            store.query(query(point.measurement, point.time_ns))


def test_right_password_writes_and_reads(auth_vm: VictoriaMetricsServer) -> None:
    store = VictoriaStore(f"victoriametrics://{USER}:{PASSWORD}@127.0.0.1:{auth_vm.port}")
    point = Point(unique("auth"), {"host": "a"}, {"v": 1.0}, recent_ns())
    store.write([point])
    basic_get(f"{auth_vm.base_url}/internal/force_flush", USER, PASSWORD)
    assert store.query(query(point.measurement, point.time_ns)) == [point]


def test_connection_refused_is_unavailable() -> None:
    store = VictoriaStore(f"victoriametrics://{USER}:{PASSWORD}@127.0.0.1:{free_port()}")
    point = Point("m", {}, {"v": 1.0}, recent_ns())
    with pytest.raises(StoreUnavailable, match="refused") as caught:
        store.write([point])
    assert PASSWORD not in str(caught.value)
    with pytest.raises(StoreUnavailable):
        store.query(query("m", point.time_ns))


def test_server_that_never_answers_is_unavailable_within_the_timeout() -> None:
    point = Point("m", {}, {"v": 1.0}, recent_ns())
    with hanging_server() as port:
        store = VictoriaStore(f"victoriametrics://127.0.0.1:{port}?timeout=0.5")
        for call in (lambda: store.write([point]), lambda: store.query(query("m", point.time_ns))):
            began = time.monotonic()
            with pytest.raises(StoreUnavailable, match=r"no answer within 0\.5 s"):
                call()
            assert time.monotonic() - began < 3


# --- statuses VictoriaMetrics does not send on demand: an answering server -----------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, StoreAuthError),
        (403, StoreAuthError),
        (408, StoreUnavailable),
        (429, StoreUnavailable),
        (500, StoreUnavailable),
        (502, StoreUnavailable),
        (503, StoreUnavailable),
    ],
)
def test_statuses_map_to_errors(status: int, error: type[StoreError]) -> None:
    answer = Answer(status=status, body=b"server says no")
    point = Point("m", {}, {"v": 1.0}, recent_ns())
    with answering_server(answer) as port:
        store = VictoriaStore(f"victoriametrics://127.0.0.1:{port}")
        with pytest.raises(error, match=f"HTTP {status}: server says no"):
            store.write([point])
        with pytest.raises(error, match=f"HTTP {status}"):
            store.query(query("m", point.time_ns))


def test_422_refuses_the_points_of_the_request() -> None:
    answer = Answer(status=422, body=b"unprocessable: field type conflict")
    points = [Point("m", {}, {"v": 1.0}, recent_ns()), Point("m", {}, {"w": 1}, recent_ns())]
    with answering_server(answer) as port:
        store = VictoriaStore(f"victoriametrics://127.0.0.1:{port}")
        with pytest.raises(BadPointsError) as caught:
            store.write(points)
        assert [item.point for item in caught.value.rejected] == points
        assert caught.value.rejected[0].reason == "HTTP 422: unprocessable: field type conflict"
        with pytest.raises(StoreError, match="HTTP 422") as failed:
            store.query(query("m", points[0].time_ns))
        assert not isinstance(failed.value, BadPointsError | StoreUnavailable | StoreAuthError)


def test_404_is_neither_retry_nor_auth() -> None:
    with answering_server(Answer(status=404, body=b"unsupported path")) as port:
        store = VictoriaStore(f"victoriametrics://127.0.0.1:{port}/wrong")
        with pytest.raises(StoreError, match="HTTP 404") as caught:
            store.write([Point("m", {}, {"v": 1.0}, recent_ns())])
    assert type(caught.value) is StoreError


def test_write_request_is_gzipped_ns_line_protocol_with_basic_auth() -> None:
    answer = Answer(status=204)
    t = recent_ns()
    with answering_server(answer) as port:
        store = VictoriaStore(f"victoriametrics://{USER}:{PASSWORD}@127.0.0.1:{port}/prefix")
        store.write([Point("cpu", {"host": "a b"}, {"usage": 1.5, "n": 2, "s": "x"}, t)])
    [seen] = answer.seen
    assert (seen.method, seen.path) == ("POST", "/prefix/api/v2/write?precision=ns")
    assert seen.headers["Content-Encoding"] == "gzip"
    assert seen.headers["Authorization"].startswith("Basic ")
    assert gzip.decompress(seen.body) == f"cpu,host=a\\ b n=2i,usage=1.5 {t}\n".encode()
