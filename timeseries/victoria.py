"""VictoriaMetrics (single node): InfluxDB line protocol in, `/api/v1/export` out; stdlib HTTP.

    victoriametrics://HOST:PORT[/PREFIX][?timeout=SECONDS]      (victoriametricss:// for TLS)
    victoriametrics://USER:PASSWORD@HOST:PORT                    (-httpAuth.* basic auth)

Writes are one gzipped `POST /api/v2/write?precision=ns` per call; reads are
`GET /api/v1/export?match[]={__name__=~"MEASUREMENT_.+",TAG="VALUE",...}&start=&end=`.
`timeout` (default 10 s) bounds every socket operation: a server that takes the connection
and never answers raises StoreUnavailable after it. No proxy from the environment is used.

What VictoriaMetrics (1.79, Debian bookworm; found by writing to it and reading back) does
with points, and so what a query gives back:

- Metric name = measurement + "_" + field. Names, tag keys and tag values are stored as given
  (unicode, spaces, commas, `=`, quotes, backslashes: no sanitising in 1.79). A newer server
  run with `-usePromCompatibleNaming` would rename them and the reads here would miss them.
- The name is ambiguous: measurement `cpu` + field `load_avg` and measurement `cpu_load` +
  field `avg` are both `cpu_load_avg`; a query for `cpu` also returns the latter as field
  `load_avg`. Keep measurement names from being `OTHER_` prefixes of each other.
- Numbers only, as float64: an int, a float and a bool (1.0/0.0) all come back as float.
  A string field would be stored as 0 (or parsed if it looks like a number), so string
  fields are not sent; a point with only string fields sends nothing.
- Timestamps are kept in milliseconds: a point comes back with `time_ns` cut to whole ms.
- A double quote in a field key breaks its parser (the line is misread, 204 all the same):
  such points are refused before sending.
- A malformed line is skipped with 204 (the server logs it); 400 only for a whole request it
  cannot read, e.g. a line over `-influx.maxLineSize` (256 KiB; a smaller limit is only
  applied to lines over the 64 KiB it reads at once). The body of an error begins with
  `remoteAddr: "IP:PORT"; requestURI: ...;`, left out of the reasons here. Samples outside the
  retention period are dropped silently.
- Re-writing a point stores a second sample unless the server runs with
  `-dedup.minScrapeInterval=1ms`; with it, one sample per series and millisecond is kept (the
  last written), which the spool's replay relies on. `GET /flags` lists the flags given on the
  command line (`-dedup.minScrapeInterval="1ms"`, one per line, none when left at the
  default); `replay_problem` reads it, once the store has taken a write.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from urllib.parse import urlencode

from pelihara.timeseries.base import Point, Query, StoreError, StoreUnavailable
from pelihara.timeseries.lineprotocol import problem, to_line, write_checked
from pelihara.timeseries.remote import (
    parse_remote_url,
    short,
    status_error,
    write_status_error,
)
from pelihara.timeseries.selection import selected, window_ns

SCHEME = "victoriametrics"
DEFAULT_PORT = 8428
# 5,000 points: level 1 is 8x smaller in 3 ms; level 9 (influxdb-client's) 13x in 51 ms.
GZIP_LEVEL = 1
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")  # what Go's regexp.QuoteMeta escapes
_NS_PER_MS = 1_000_000
DEDUP_FLAG = "-dedup.minScrapeInterval"
FLAGS_LIMIT = 1 << 20  # bytes of a /flags answer read (VictoriaMetrics' own is a few KiB)

StatusError = Callable[[int, str], StoreError]


def victoria_problem(point: Point) -> str | None:
    """Why POINT cannot be written to VictoriaMetrics, or None."""
    found = problem(point)
    if found is None and any('"' in key for key in point.fields):
        found = "VictoriaMetrics cannot parse a double quote in a field key"
    return found


def numeric_only(point: Point) -> Point | None:
    """POINT without its string fields (VictoriaMetrics keeps numbers), None if nothing is left."""
    if not any(isinstance(value, str) for value in point.fields.values()):
        return point
    fields = {key: value for key, value in point.fields.items() if not isinstance(value, str)}
    return Point(point.measurement, point.tags, fields, point.time_ns) if fields else None


def re2_quote(text: str) -> str:
    """TEXT as an RE2 regular expression matching it literally."""
    return "".join("\\" + char if char in _RE2_SPECIAL else char for char in text)


def metricsql_string(text: str) -> str:
    """TEXT as a double-quoted MetricsQL string literal (control characters as \\xNN)."""
    escaped = "".join(
        f"\\x{ord(char):02x}" if ord(char) < 0x20 or ord(char) == 0x7F else char
        for char in text.replace("\\", "\\\\").replace('"', '\\"')
    )
    return f'"{escaped}"'


def _ident_char(char: str, first: bool) -> str:
    plain = char.isascii() and (char.isalpha() or char == "_" or (char.isdigit() and not first))
    return char if plain else "".join(f"\\x{byte:02x}" for byte in char.encode("utf-8"))


def label_name(name: str) -> str:
    """NAME as a MetricsQL label identifier: anything but [A-Za-z_][A-Za-z0-9_]* as \\xNN bytes."""
    return "".join(_ident_char(char, index == 0) for index, char in enumerate(name))


def selector(query: Query) -> str:
    """The series selector of QUERY: every metric of its measurement, with its tags."""
    filters = [f"__name__=~{metricsql_string(re2_quote(query.measurement) + '_.+')}"]
    filters += [f"{label_name(k)}={metricsql_string(v)}" for k, v in sorted(query.tags.items())]
    return "{" + ",".join(filters) + "}"


def _seconds(ms: int) -> str:
    """Milliseconds as the seconds text `start`/`end` take: 1700000000123 -> 1700000000.123."""
    return f"{ms // 1000}.{ms % 1000:03d}"


def export_params(query: Query) -> dict[str, str] | None:
    """`match[]`, `start`, `end` (inclusive, ms) for QUERY, or None if it selects nothing."""
    start_ns, end_ns = window_ns(query)
    start_ms = max(0, -(-start_ns // _NS_PER_MS))  # a sample at ms M is M * 1e6 ns: >= start
    end_ms = (end_ns - 1) // _NS_PER_MS  # ... and < end
    if end_ms < start_ms:
        return None
    return {"match[]": selector(query), "start": _seconds(start_ms), "end": _seconds(end_ms)}


def _samples(row: Mapping[str, object]) -> Iterator[tuple[int, float]]:
    values, stamps = row.get("values"), row.get("timestamps")
    if isinstance(values, list) and isinstance(stamps, list):
        for value, stamp in zip(values, stamps, strict=False):
            if isinstance(value, int | float) and isinstance(stamp, int):
                yield stamp, float(value)


def points_from_export(lines: Iterable[bytes], measurement: str) -> list[Point]:
    """Points of MEASUREMENT from `/api/v1/export` JSON lines: fields joined by series and ms."""
    grouped: dict[tuple[tuple[tuple[str, str], ...], int], dict[str, float]] = {}
    prefix = measurement + "_"
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            labels = dict(row["metric"])
        except (ValueError, KeyError, TypeError) as error:
            raise StoreError(f"not an /api/v1/export line: {short(line)}") from error
        name = labels.pop("__name__", "")
        if not name.startswith(prefix) or len(name) == len(prefix):
            continue
        series = tuple(sorted(labels.items()))
        for stamp, value in _samples(row):
            grouped.setdefault((series, stamp), {})[name[len(prefix) :]] = value
    return [
        Point(measurement, dict(series), fields, stamp * _NS_PER_MS)
        for (series, stamp), fields in grouped.items()
    ]


def flag_value(flags: str, name: str) -> str | None:
    """The value of flag NAME in a `/flags` answer (`-name="value"` lines), None if not there."""
    for line in flags.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def dedup_problem(flags: str, url: str) -> str | None:
    """What is wrong for replays with the `/flags` answer FLAGS of the store at URL, or None."""
    value = flag_value(flags, DEDUP_FLAG)
    if value is not None and any(digit in value for digit in "123456789"):
        return None
    shown = "without it" if value is None else f"with {DEDUP_FLAG}={value}"
    return (
        f"{url} runs {shown}: a point sent again (after a crash between the store's "
        "acknowledgement and the spool's delete, or by `pelihara tsdb spool --replay`) is "
        f"stored twice. Start VictoriaMetrics with {DEDUP_FLAG}=1ms"
    )


# VictoriaMetrics starts an error body with the client's address and port, which differ from
# one request to the next: without them, one cause reads as one reason (to compare and count).
_REQUEST_PREFIX = re.compile(r'^remoteAddr: "[^"]*"; (requestURI: \S+; )?')


def error_message(body: bytes) -> str:
    """An error body as one short line, without VictoriaMetrics' per-request prefix.

    >>> error_message(b'remoteAddr: "127.0.0.1:4242"; requestURI: /api/v2/write; too long line')
    'too long line'
    """
    return _REQUEST_PREFIX.sub("", short(body))


def _http_message(error: urllib.error.HTTPError) -> str:
    try:
        return error_message(error.read(4096)) or str(error.reason)
    except (OSError, http.client.HTTPException):
        return str(error.reason)


class VictoriaStore:
    """A VictoriaMetrics single node over HTTP; see the module docstring for what it keeps."""

    def __init__(self, url: str, read_only: bool = False) -> None:
        # READ_ONLY changes nothing here: reading a remote store never creates it.
        self._remote = parse_remote_url(url, SCHEME, DEFAULT_PORT)
        self.url = self._remote.shown
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"VictoriaStore({self.url!r})"

    @contextmanager
    def _exchange(self, on_status: StatusError) -> Iterator[None]:
        """HTTP statuses through ON_STATUS; no connection, no answer, a reset: StoreUnavailable."""
        try:
            yield
        except urllib.error.HTTPError as error:
            raise on_status(error.code, _http_message(error)) from error
        except urllib.error.URLError as error:
            raise StoreUnavailable(f"{self.url}: {error.reason}") from error
        except TimeoutError as error:
            seconds = self._remote.timeout_seconds
            raise StoreUnavailable(f"{self.url}: no answer within {seconds:g} s") from error
        except (OSError, http.client.HTTPException) as error:
            raise StoreUnavailable(f"{self.url}: {type(error).__name__}: {error}") from error

    def _open(
        self, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> http.client.HTTPResponse:
        request = urllib.request.Request(  # noqa: S310 (base is always http:// or https://)
            self._remote.base + path,
            data=body,
            headers={**self._remote.basic_auth(), **(headers or {})},
            method="GET" if body is None else "POST",
        )
        response: http.client.HTTPResponse = self._opener.open(
            request, timeout=self._remote.timeout_seconds
        )
        return response

    def write(self, points: Sequence[Point]) -> None:
        """Write POINTS in one request; BadPointsError names the refused ones."""
        write_checked(points, self._send, victoria_problem)

    def _send(self, points: Sequence[Point]) -> None:
        lines = [to_line(kept) for point in points if (kept := numeric_only(point)) is not None]
        if not lines:
            return
        body = gzip.compress("".join(line + "\n" for line in lines).encode(), GZIP_LEVEL)
        headers = {"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"}

        def refused(status: int, message: str) -> StoreError:
            return write_status_error(status, message, self.url, points)

        with self._exchange(refused), self._open("/api/v2/write?precision=ns", body, headers) as r:
            r.read()

    def replay_problem(self) -> str | None:
        """Why a point sent twice would be stored twice (`-dedup.minScrapeInterval` unset), or
        None; from `GET /flags`. StoreUnavailable when the store cannot be asked now."""

        def failed(status: int, message: str) -> StoreError:
            found = status_error(status, message, self.url)
            transient = isinstance(found, StoreUnavailable)
            return found if transient else StoreError(f"HTTP {status}: {message}".rstrip(": "))

        try:
            with self._exchange(failed), self._open("/flags") as response:
                flags = response.read(FLAGS_LIMIT).decode("utf-8", errors="replace")
        except StoreUnavailable:
            raise
        except StoreError as error:  # e.g. -flagsAuthKey set, or a proxy that hides /flags
            return (
                f"could not check that {self.url} runs with {DEDUP_FLAG}=1ms, which replays "
                f"rely on: GET /flags answered {error}"
            )
        return dedup_problem(flags, self.url)

    def query(self, query: Query) -> list[Point]:
        """The points of QUERY by time, fields as float, `time_ns` cut to whole milliseconds."""
        params = export_params(query)
        if params is None:
            return []

        def failed(status: int, message: str) -> StoreError:
            return status_error(status, f"export failed: {message}", self.url)

        with self._exchange(failed), self._open("/api/v1/export?" + urlencode(params)) as r:
            points = points_from_export(r, query.measurement)
        return selected(points, query)

    def close(self) -> None:
        """Nothing to release: every request has its own connection."""
