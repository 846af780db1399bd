"""One interface to the time-series stores; the backend is chosen by the URL's scheme.

    sqlite:///PATH                                   embedded (the default), no server
    influxdb://HOST:PORT?org=ORG&bucket=BUCKET      InfluxDB 2.x / 1.8+ (influxdbs:// for TLS)
    victoriametrics://HOST:PORT                      VictoriaMetrics (victoriametricss:// for TLS)

The registry maps a scheme to "module:Class", imported on first use, so adding a backend is
one module and one line here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from pelihara.core.errors import ConfigurationError
from pelihara.core.paths import data_dir
from pelihara.timeseries.base import Point, Query, Store

__all__ = [
    "REGISTRY",
    "Point",
    "Query",
    "Store",
    "default_url",
    "open_store",
    "spool_files",
    "spool_path",
]

REGISTRY: dict[str, str] = {
    "sqlite": "pelihara.timeseries.sqlite:SqliteStore",
    "influxdb": "pelihara.timeseries.influx:InfluxStore",
    "influxdbs": "pelihara.timeseries.influx:InfluxStore",
    "victoriametrics": "pelihara.timeseries.victoria:VictoriaStore",
    "victoriametricss": "pelihara.timeseries.victoria:VictoriaStore",
}

# The Python package each backend needs beyond the standard library, named when it is missing.
LIBRARIES: dict[str, str] = {"influxdb": "influxdb-client", "influxdbs": "influxdb-client"}


def _spool_name(url: str) -> str:
    """The store part of a spool's file name: scheme, host and port (no credentials)."""
    parts = urlsplit(url)
    where = parts.hostname or Path(parts.path).stem or "local"
    name = f"{parts.scheme}-{where}" + (f"-{parts.port}" if parts.port else "")
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def spool_dir() -> Path:
    """Where the spools are: the data directory's `spool/`."""
    return data_dir() / "spool"


def spool_path(url: str, owner: str) -> Path:
    """The spool file of OWNER ("agent", "collect") for the store at URL, in the data directory.

    Named OWNER-SCHEME-HOST-PORT.db from the URL (no credentials): readable, one per store.
    """
    return spool_dir() / f"{owner}-{_spool_name(url)}.db"


def spool_files(url: str | None = None) -> list[Path]:
    """The spool files in the data directory, by name; with URL, only that store's."""
    found = sorted(spool_dir().glob("*-*.db"))
    if url is None:
        return found
    name = _spool_name(url)
    return [path for path in found if path.stem.partition("-")[2] == name]


def default_url() -> str:
    """The embedded store in the data directory."""
    return f"sqlite:///{data_dir() / 'timeseries.db'}"


def open_store(url: str | None = None, read_only: bool = False) -> Store:
    """The store for URL (default: the embedded SQLite store); READ_ONLY for reading only:
    an embedded store that does not exist is an error then, never created."""
    url = url or default_url()
    scheme = urlsplit(url).scheme
    if scheme not in REGISTRY:
        known = ", ".join(f"{name}://" for name in REGISTRY)
        raise ConfigurationError(f"unknown time-series store {scheme or url!r}: use {known}")
    module_name, _, class_name = REGISTRY[scheme].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # e.g. influxdb-client, which the agent's single file lacks
        needs = LIBRARIES.get(scheme, exc.name)
        raise ConfigurationError(
            f"the {scheme}:// store needs the Python package {needs}, which this Python cannot "
            f"import ({exc}); the agent's single file carries only the sqlite:// and "
            "victoriametrics:// writers"
        ) from exc
    store: Store = getattr(module, class_name)(url, read_only=read_only)
    return store
