"""What the HTTP stores share: their URL, and what an HTTP status means for the caller.

>>> parse_remote_url("victoriametrics://ops:s3cret@vm.dc:8428?timeout=5", "victoriametrics", 8428)
RemoteUrl(base='http://vm.dc:8428', shown='victoriametrics://ops:***@vm.dc:8428?timeout=5', ...)

A password given in the URL is used (HTTP basic auth) but never shown: `shown` is the URL for
`Store.url` and every message. A scheme ending in an extra `s` means TLS.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from pelihara.core.errors import ConfigurationError
from pelihara.timeseries.base import (
    Point,
    RefusedRequest,
    StoreAuthError,
    StoreError,
    StoreUnavailable,
)

DEFAULT_TIMEOUT_SECONDS = 10.0
MESSAGE_LIMIT = 500  # characters of a store's error body kept in a message


@dataclass(frozen=True)
class RemoteUrl:
    """A store URL taken apart: where to connect, what to show, and its options."""

    base: str  # http(s)://HOST:PORT[/PREFIX], never with credentials
    shown: str  # the URL as given, password masked
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    options: dict[str, str] = field(default_factory=dict)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def basic_auth(self) -> dict[str, str]:
        """The Authorization header for the URL's user and password (none without a user)."""
        if self.username is None:
            return {}
        pair = f"{self.username}:{self.password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _shown(parts: SplitResult, scheme: str, hostport: str) -> str:
    user = f"{parts.username}:***@" if parts.username is not None else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{user}{hostport}{parts.path}{query}"


def _timeout(options: dict[str, str], shown: str) -> float:
    text = options.pop("timeout", str(DEFAULT_TIMEOUT_SECONDS))
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:  # also refuses nan
        raise ConfigurationError(f"{shown}: timeout must be a positive number of seconds")
    return seconds


def _options(parts: SplitResult, allowed: Sequence[str], where: str) -> dict[str, str]:
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - {"timeout", *allowed})
    if unknown:  # names only, and WHERE has no query: a value could be a misplaced secret
        known = ", ".join(["timeout", *allowed])
        raise ConfigurationError(
            f"{where}: unknown option(s) {', '.join(unknown)} (known: {known})"
        )
    return options


def _port(parts: SplitResult, default_port: int, scheme: str) -> int:
    try:
        return parts.port or default_port
    except ValueError:
        raise ConfigurationError(f"{scheme}:// URL has an invalid port") from None


def parse_remote_url(
    url: str, scheme: str, default_port: int, allowed: Sequence[str] = ()
) -> RemoteUrl:
    """URL of SCHEME (or SCHEME + "s" for TLS) with options `timeout` and ALLOWED."""
    parts = urlsplit(url)
    if parts.scheme not in (scheme, scheme + "s") or not parts.hostname:
        raise ConfigurationError(f"not a {scheme}:// URL with a host: {parts.scheme}://...")
    hostport = _netloc(parts.hostname, _port(parts, default_port, scheme))
    options = _options(parts, allowed, f"{parts.scheme}://{hostport}")
    shown = _shown(parts, parts.scheme, hostport)
    http = "https" if parts.scheme == scheme + "s" else "http"
    return RemoteUrl(
        base=f"{http}://{hostport}{parts.path.rstrip('/')}",
        shown=shown,
        timeout_seconds=_timeout(options, shown),
        options=options,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def short(message: str | bytes | None) -> str:
    """A store's error body as one short line for a message."""
    if isinstance(message, bytes):
        message = message.decode("utf-8", errors="replace")
    text = " ".join((message or "").split())
    return text[:MESSAGE_LIMIT] + ("..." if len(text) > MESSAGE_LIMIT else "")


def status_error(status: int, message: str, url: str) -> StoreError:
    """The error for an HTTP STATUS that is not success: auth, try later, or neither."""
    text = f"{url}: HTTP {status}: {message}" if message else f"{url}: HTTP {status}"
    if status in (401, 403):
        return StoreAuthError(text)
    if status in (408, 429) or status >= 500:
        return StoreUnavailable(text)
    return StoreError(text)


def write_status_error(status: int, message: str, url: str, points: Sequence[Point]) -> StoreError:
    """As `status_error`, but 400 and 422 refuse the request of POINTS with the store's reason."""
    if status in (400, 422):
        return RefusedRequest(points, f"HTTP {status}: {message}" if message else f"HTTP {status}")
    return status_error(status, message, url)
