"""Where the checkout keeps the rooms that install as `pelihara.*` (pyproject.toml)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("agent", "cli", "collector", "core", "facts", "inventory", "maintenance", "migrations",
         "timeseries")  # fmt: skip
