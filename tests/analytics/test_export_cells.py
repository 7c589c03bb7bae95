"""The export writes each duration in seconds to the millisecond, half a millisecond up, as the
shortest decimal (``60.501``, ``60.0``), the same text in CSV and JSON on both databases."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from flowpilot.analytics.export import _cell
from tests.analytics.timeline import Timeline

EXPORT = "/api/v1/analytics/escalations/export"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seconds_text(micros: int) -> str:
    """The reference: the exact decimal, rounded half up to 3 places, trailing zeros dropped
    but one (``60.0``)."""
    q = (Decimal(micros) / 10**6).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    text = f"{q:f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


# Up to ten years in microseconds, and the values exactly half-way between two milliseconds
# (where rounding the float micros / 10^6 would depend on its binary value: 0.0045 s is stored
# just below the half, 0.0025 s just above, 0.0625 s exactly on it).
MICROS = st.integers(min_value=0, max_value=10 * 365 * 86_400 * 10**6)
HALF_WAY = st.integers(min_value=0, max_value=10**8).map(lambda ms: ms * 1000 + 500)


@settings(derandomize=True, database=None, max_examples=500)  # the same values every run
@given(st.one_of(MICROS, HALF_WAY))
@example(4_500)
@example(2_500)
@example(62_500)
@example(0)
@example(1_000_000)
def test_a_duration_cell_is_the_millisecond_half_up(micros: int) -> None:
    assert _cell(micros) == seconds_text(micros)


def test_a_negative_duration_rounds_half_up_too() -> None:
    # Never written by the product (a claim follows its escalation), but defined: toward +inf.
    assert (_cell(-1_500), _cell(-1_501), _cell(-500), _cell(-499)) == (
        "-0.001",
        "-0.002",
        "0.0",
        "0.0",
    )


def test_a_missing_duration_has_no_text() -> None:
    assert _cell(None) is None


# (time to claim, time to first action) in microseconds: half-way values, a millisecond either
# side, whole seconds, the day boundary (an interval of more than 24 h has a day part), 300 days.
DURATIONS = [
    (0, 1),
    (499, 500),
    (501, 999),
    (1_500, 2_500),
    (4_500, 62_500),
    (249_500, 250_499),
    (60_500_500, 60_000_000),
    (86_399_999_500, 86_400_000_500),
    (90_061_001_500, 3_600_000_000),
    (300 * 86_400_000_000 + 500, 1_000),
]


async def test_durations_are_the_same_text_in_csv_and_json(client, factory, clock):
    """Escalations made through the write path with exact microsecond durations: both formats
    write each duration as the reference does, on this database's export path."""
    clock.set(NOW)
    team = await factory.team()
    eng = team["eng"]
    tl = Timeline(factory, team["tech"], T0)
    expected = []
    for i, (ttc, ttfa) in enumerate(DURATIONS):
        created = 3_600 * i
        claimed = created + ttc / 10**6
        e = tl.escalation(
            created=created, claimed=claimed, claimer=eng, steps=[(claimed + ttfa / 10**6, eng)]
        )
        expected.append((e, (seconds_text(ttc), seconds_text(ttfa))))
    await tl.save()
    want = {e.ids["handoff"]: cells for e, cells in expected}

    r = await client.get(EXPORT, params={"days": 365}, headers=eng.headers)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    got_csv = {
        row["id"]: (row["time_to_claim_seconds"], row["time_to_first_action_seconds"])
        for row in rows
    }
    assert got_csv == want

    j = await client.get(EXPORT, params={"days": 365, "format": "json"}, headers=eng.headers)
    # Numbers as written in the body, not as floats read back.
    items = json.loads(j.text, parse_float=str, parse_int=str)["items"]
    got_json = {
        i["id"]: (i["time_to_claim_seconds"], i["time_to_first_action_seconds"]) for i in items
    }
    assert got_json == want
