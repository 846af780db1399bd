"""Tests of the time-series stores, and what several of them share.

The in-process servers here stand in only for what no real server does on demand: a server
that takes the connection and never answers (`hanging_server`), and an HTTP answer a test
chooses -- a status VictoriaMetrics never sends (422, 429, 5xx) or InfluxDB 2's Flux CSV,
since no InfluxDB 2 can be installed here (`answering_server`).
"""

from __future__ import annotations

import base64
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS_PER_MS = 1_000_000

# Names that need escaping somewhere: line protocol, MetricsQL, RE2, Flux, JSON or CSV.
ODD_NAMES = [
    "with space",
    "com,ma",
    "equ=als",
    "ünïcødé 日本 ✓",
    "back\\slash",
    "trailing\\",
    "\\leading",
    "sin'gle",
    "tab\there",
    "re.+*?()|[]{}^$",
    "hash#inside",
    'dou"ble',
]


def unique(prefix: str) -> str:
    """PREFIX with a random suffix: tests share one server, so each writes its own series."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def recent_ns(minutes_ago: int = 10) -> int:
    """A whole-millisecond timestamp MINUTES_AGO (inside VictoriaMetrics' 1-day retention)."""
    now_ms = time.time_ns() // NS_PER_MS
    return (now_ms - minutes_ago * 60_000) * NS_PER_MS


def basic_get(url: str, user: str, password: str) -> bytes:
    """GET URL with basic auth, never through a proxy."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return bytes(response.read())


@contextmanager
def hanging_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 whose server accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so that the thread sees `stop` soon
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for connection in held:
            connection.close()


@dataclass
class Seen:
    """One request an `answering_server` received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """What an `answering_server` says to every request, and what it was asked."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    seen: list[Seen] = field(default_factory=list)


def _handler(answer: Answer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            answer.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: pytest shows what matters."""

    return Handler


@contextmanager
def answering_server(answer: Answer, port: int = 0) -> Iterator[int]:
    """An HTTP server on 127.0.0.1 (PORT, or a free one) that gives ANSWER to every request;
    yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(answer))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
