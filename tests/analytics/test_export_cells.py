"""The export writes each duration exactly as the API's JSON writes it (``round_seconds``)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from flowpilot.analytics.export import _cell
from flowpilot.analytics.service import round_seconds

# Up to ten years in microseconds, and the half-way values where the float's binary value
# decides the rounding (0.0045 s is stored just below the half, 0.0025 s just above).
MICROS = st.integers(min_value=-(10**6), max_value=10 * 365 * 86_400 * 10**6)
HALF_WAY = st.integers(min_value=0, max_value=10**8).map(lambda ms: ms * 1000 + 500)


@settings(derandomize=True, database=None, max_examples=500)  # the same values every run
@given(st.one_of(MICROS, HALF_WAY))
@example(4_500)
@example(2_500)
@example(0)
@example(1_000_000)
def test_a_duration_cell_is_the_api_float(micros: int) -> None:
    assert _cell(micros, "") == repr(round_seconds(micros / 1_000_000))


def test_a_missing_duration_is_the_format_null() -> None:
    assert _cell(None, "null") == "null"
    assert _cell(None, "") == ""
