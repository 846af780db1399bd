"""The harness's own rules: when a missing server is a failure rather than a skip."""

from __future__ import annotations

import pytest

from tests.realservers.base import in_ci


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("TRUE", True), ("", False), ("0", False),
     ("false", False), ("no", False)],
)  # fmt: skip
def test_ci_counts_as_set_for_any_true_value(value: str, expected: bool) -> None:
    """Under CI a missing server binary fails instead of skipping, whatever true value CI has."""
    assert in_ci({"CI": value}) is expected
