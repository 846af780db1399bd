"""A UDP relay on 127.0.0.1 between one client and a real server: the path, not the peer.

Tests point the client at the relay's port; the relay forwards each datagram to the server
and each answer back, through hooks that may alter, drop, duplicate, delay or replace them,
and may answer from another source port than the one the client asked. The server stays
the real one (e.g. net-snmp's snmpd): only what happens on the wire between the two is
played. One thread, `select` on the sockets; stopped by `close` (or the `with` block).
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Callable
from types import TracebackType

HOST = "127.0.0.1"
Hook = Callable[[bytes], list[bytes]]  # one datagram in, the datagrams to pass on out


def _passed(data: bytes) -> list[bytes]:
    return [data]


class UdpRelay:
    """Relays between the client that last wrote to `port` and SERVER (host, port).

    `to_server` and `to_client` are the hooks (default: pass as is); they run on the relay's
    thread. `requests` and `answers` keep every datagram as the client and the server sent
    it, before any hook. `send_to_client` sends from the port the client wrote to, or VIA
    another port of 127.0.0.1 ("other-port") or the same port number of 127.0.0.2
    ("other-address").
    """

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.to_server: Hook = _passed
        self.to_client: Hook = _passed
        self.requests: list[bytes] = []
        self.answers: list[bytes] = []
        self.client: tuple[str, int] | None = None
        self.errors: list[Exception] = []  # a hook's exception: the datagram is lost
        self._front = self._socket()
        self._back = self._socket()
        self._via = {
            "front": self._front,
            "other-port": self._socket(),
            "other-address": self._socket(("127.0.0.2", self.port)),
        }
        self._timers: list[threading.Timer] = []
        self._stop_reader, self._stop_writer = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="udp-relay", daemon=True)
        self._thread.start()

    @staticmethod
    def _socket(address: tuple[str, int] = (HOST, 0)) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(address)
        return sock

    @property
    def port(self) -> int:
        """Where the client sends."""
        return int(self._front.getsockname()[1])

    def send_to_client(self, data: bytes, delay: float = 0.0, via: str = "front") -> None:
        """DATA to the client now, or after DELAY seconds (from a hook: a late answer), from
        the relay's port or VIA another source ("other-port", "other-address")."""
        if delay > 0:
            timer = threading.Timer(delay, self.send_to_client, (data, 0.0, via))
            self._timers.append(timer)
            timer.start()
            return
        if self.client is not None:
            self._via[via].sendto(data, self.client)

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock in (self._front, self._back, self._stop_reader):
                selector.register(sock, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._stop_reader:
                        return
                    try:
                        self._relay(key.fileobj)  # type: ignore[arg-type]
                    except Exception as exc:
                        self.errors.append(exc)

    def _relay(self, sock: socket.socket) -> None:
        try:
            data, sender = sock.recvfrom(65535)
        except OSError:  # e.g. ICMP port unreachable from a stopped server
            return
        if sock is self._front:
            self.client = sender
            self.requests.append(data)
            for out in self.to_server(data):
                self._back.sendto(out, self.server)
        elif sender == self.server:
            self.answers.append(data)
            for out in self.to_client(data):
                self.send_to_client(out)

    def close(self) -> None:
        self._stop_writer.send(b"x")
        self._thread.join(timeout=5)
        for timer in self._timers:
            timer.cancel()
        for sock in (self._back, *self._via.values(), self._stop_reader, self._stop_writer):
            sock.close()

    def __enter__(self) -> UdpRelay:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
