"""InfluxDB 2.x, and 1.8+ through its v2 compatibility API, with influxdb-client.

    influxdb://HOST:PORT[/PREFIX]?org=ORG&bucket=BUCKET[&timeout=SECONDS]   (influxdbs:// = TLS)

The token comes from `PELIHARA_INFLUX_TOKEN` or `[influxdb] token` in credentials.toml
(`timeseries.token`), never from the URL; without one, requests carry no Authorization
(VictoriaMetrics, or an InfluxDB 1.8 without auth, take them). InfluxDB 1.8+: the token is
`USER:PASSWORD`, the bucket `DATABASE/RETENTION_POLICY` (or `DATABASE`), `org` is ignored
(default `-`), and queries need Flux enabled (`[http] flux-enabled = true`).

Writes: the line protocol of `timeseries.lineprotocol` through the client's SYNCHRONOUS write
API, gzipped (`enable_gzip=True`), one request per call: batching and retrying are the
spool's. Reads: one Flux query (`from |> range |> filter |> pivot`) answered as annotated CSV,
parsed here (`points_from_csv`) so that `_time` keeps its nanoseconds (the client's own
parser gives datetimes, which stop at microseconds). An empty string field reads back as
missing: annotated CSV writes null and "" the same way.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import urllib3
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.dialect import Dialect
from influxdb_client.domain.write_precision import WritePrecision

from pelihara.core.errors import ConfigurationError
from pelihara.timeseries.base import FieldValue, Point, Query, StoreError, StoreUnavailable
from pelihara.timeseries.lineprotocol import to_lines, write_checked
from pelihara.timeseries.remote import parse_remote_url, short, status_error, write_status_error
from pelihara.timeseries.selection import datetime_ns, rfc3339_ns, selected, window_ns
from pelihara.timeseries.token import influx_token

SCHEME = "influxdb"
DEFAULT_PORT = 8086
DEFAULT_ORG = "-"  # what InfluxDB 1.8 expects when it has no organisations
DIALECT = Dialect(  # type: ignore[no-untyped-call]  # generated model, unannotated
    header=True,
    delimiter=",",
    comment_prefix="#",
    annotations=["datatype", "group", "default"],
    date_time_format="RFC3339Nano",
)
_NOT_DATA = frozenset({"", "result", "table", "_start", "_stop"})  # columns that are no point's
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d\d):(\d\d))$"
)
_TYPES: dict[str, Callable[[str], FieldValue]] = {
    "long": int,
    "unsignedLong": int,
    "double": float,
    "boolean": lambda text: text == "true",
    "string": str,
}

NS = cast(WritePrecision, WritePrecision.NS)  # a str constant; `write` is annotated with the class
StatusError = Callable[[int, str], StoreError]


def flux_string(text: str) -> str:
    """TEXT as a Flux string literal (`\\`, `"`, `${` and line breaks escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def flux_query(bucket: str, query: Query) -> str:
    """The Flux for QUERY: its window, measurement and tags, one column per field."""
    start, stop = window_ns(query)
    predicates = [f"r._measurement == {flux_string(query.measurement)}"]
    predicates += [
        f"r[{flux_string(k)}] == {flux_string(v)}" for k, v in sorted(query.tags.items())
    ]
    return (
        f"from(bucket: {flux_string(bucket)})\n"
        f"  |> range(start: {rfc3339_ns(start)}, stop: {rfc3339_ns(stop)})\n"
        f"  |> filter(fn: (r) => {' and '.join(predicates)})\n"
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
    )


def rfc3339_to_ns(text: str) -> int:
    """An RFC 3339 time with up to nine decimals as nanoseconds since the epoch."""
    match = _RFC3339.match(text)
    if match is None:
        raise StoreError(f"not an RFC 3339 time in the answer: {text!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    whole = datetime_ns(datetime(year, month, day, hour, minute, second, tzinfo=UTC))
    offset = 0 if match[8] else int(match[10]) * 3600 + int(match[11]) * 60
    offset = -offset if match[9] == "-" else offset
    return whole - offset * 1_000_000_000 + int((match[7] or "").ljust(9, "0"))


@dataclass(frozen=True)
class Column:
    """One column of an annotated CSV table."""

    name: str
    datatype: str
    group: bool
    default: str


def _columns(annotations: dict[str, list[str]], header: list[str]) -> list[Column]:
    def annotation(kind: str, index: int) -> str:
        row = annotations.get(kind, [])
        return row[index] if index < len(row) else ""

    return [
        Column(
            name,
            annotation("datatype", i),
            annotation("group", i) == "true",
            annotation("default", i),
        )
        for i, name in enumerate(header)
    ]


def csv_tables(text: str) -> Iterator[tuple[list[Column], list[list[str]]]]:
    """The tables of an annotated CSV answer: annotation rows, a header, data rows each.

    A table ends at a blank line or where new annotations start (InfluxDB repeats them when
    the columns change).
    """
    annotations: dict[str, list[str]] = {}
    header: list[str] = []
    rows: list[list[str]] = []
    for row in csv.reader(io.StringIO(text, newline="")):
        starts_anew = not any(row) or row[0].startswith("#")
        if starts_anew and header:
            yield _columns(annotations, header), rows
            annotations, header, rows = {}, [], []
        if row and row[0].startswith("#"):
            annotations[row[0][1:]] = row
        elif any(row) and header:
            rows.append(row)
        elif any(row):
            header = row
    if header:
        yield _columns(annotations, header), rows


def _point(columns: list[Column], row: list[str]) -> Point | None:
    measurement, time_ns = "", None
    tags: dict[str, str] = {}
    fields: dict[str, FieldValue] = {}
    for column, cell in zip(columns, row, strict=False):
        text = cell or column.default
        if not text or column.name in _NOT_DATA:
            continue
        if column.name == "_time":
            time_ns = rfc3339_to_ns(text)
        elif column.name == "_measurement":
            measurement = text
        elif column.group:
            tags[column.name] = text
        else:
            fields[column.name] = _TYPES.get(column.datatype, str)(text)
    if not measurement or time_ns is None or not fields:
        return None
    return Point(measurement, tags, fields, time_ns)


def points_from_csv(text: str) -> list[Point]:
    """Points from the annotated CSV of a pivoted Flux query (group columns are the tags).

    An error table (columns `error`, `reference`: Flux failed after answering 200) raises
    StoreError with its message.
    """
    points: list[Point] = []
    for columns, rows in csv_tables(text):
        names = [column.name for column in columns]
        if "error" in names and "reference" in names:
            message = rows[0][names.index("error")] if rows else "no message"
            raise StoreError(f"the query failed: {short(message)}")
        points += [point for row in rows if (point := _point(columns, row)) is not None]
    return points


def _api_message(error: InfluxDBError) -> str:
    message = getattr(error, "message", None)
    return short(message if isinstance(message, str | bytes) else None)


class InfluxStore:
    """InfluxDB over its v2 HTTP API; see the module docstring for URL, token and formats."""

    def __init__(self, url: str, read_only: bool = False) -> None:
        # READ_ONLY changes nothing here: reading a remote store never creates it.
        remote = parse_remote_url(url, SCHEME, DEFAULT_PORT, allowed=("org", "bucket"))
        if remote.username is not None:
            raise ConfigurationError(
                f"{remote.shown}: no credentials in the URL: set PELIHARA_INFLUX_TOKEN"
                " or [influxdb] token in credentials.toml"
            )
        self.url = remote.shown
        self._bucket = remote.options.get("bucket", "")
        if not self._bucket:
            raise ConfigurationError(f"{self.url}: name the bucket (?bucket=BUCKET)")
        self._org = remote.options.get("org") or DEFAULT_ORG
        self._timeout_seconds = remote.timeout_seconds
        self._client = InfluxDBClient(
            url=remote.base,
            token=influx_token() or "",  # empty: no Authorization header
            org=self._org,
            timeout=max(1, round(remote.timeout_seconds * 1000)),  # total, per request
            enable_gzip=True,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._query_api = self._client.query_api()

    def __repr__(self) -> str:
        return f"InfluxStore({self.url!r})"

    @contextmanager
    def _exchange(self, on_status: StatusError) -> Iterator[None]:
        """Statuses through ON_STATUS; no connection, no answer, a reset: StoreUnavailable."""
        try:
            yield
        except InfluxDBError as error:
            status = getattr(error, "status", None)
            if not status:  # no HTTP answer at all (the client reports TLS failures so)
                raise StoreUnavailable(f"{self.url}: {_api_message(error)}") from error
            raise on_status(int(status), _api_message(error)) from error
        except urllib3.exceptions.NewConnectionError as error:  # before its base, TimeoutError
            text = str(error).split(": ", 1)[-1]  # without urllib3's "<HTTPConnection object>: "
            raise StoreUnavailable(f"{self.url}: {text}") from error
        except urllib3.exceptions.TimeoutError as error:
            seconds = self._timeout_seconds
            raise StoreUnavailable(f"{self.url}: no answer within {seconds:g} s") from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise StoreUnavailable(f"{self.url}: {type(error).__name__}: {error}") from error

    def write(self, points: Sequence[Point]) -> None:
        """Write POINTS in one request; BadPointsError names the refused ones."""
        write_checked(points, self._send)

    def _send(self, points: Sequence[Point]) -> None:
        def refused(status: int, message: str) -> StoreError:
            return write_status_error(status, message, self.url, points)

        with self._exchange(refused):
            self._write_api.write(
                bucket=self._bucket,
                org=self._org,
                record=to_lines(points),
                write_precision=NS,
            )

    def query(self, query: Query) -> list[Point]:
        """The points of QUERY by time, with their nanoseconds and field types."""
        start, stop = window_ns(query)
        if start >= stop:
            return []  # Flux refuses an empty range

        def failed(status: int, message: str) -> StoreError:
            return status_error(status, f"query failed: {message}", self.url)

        with self._exchange(failed):
            response = self._query_api.query_raw(
                flux_query(self._bucket, query), org=self._org, dialect=DIALECT
            )
            text = response.data.decode("utf-8")
            response.release_conn()
        try:
            return selected(points_from_csv(text), query)
        except StoreError as error:
            raise StoreError(f"{self.url}: {error}") from error

    def close(self) -> None:
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
