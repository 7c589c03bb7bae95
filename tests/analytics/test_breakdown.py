"""Weekly (Monday UTC weeks), per senior and per escalation export, with exact numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.analytics.timeline import Timeline
from tests.factories import add_step
from tests.handoffs.helpers import claim, escalated, post

WEEKLY = "/api/v1/analytics/weekly"
SENIORS = "/api/v1/analytics/seniors"
EXPORT = "/api/v1/analytics/escalations/export"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
T0 = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)  # a Sunday


def _offset(moment: datetime) -> float:
    return (moment - T0).total_seconds()


async def _history(factory, clock):  # type: ignore[no-untyped-def]
    """E0 open since the window's first instant; E1 (Sunday 8th) and E2 (Sunday 22nd, 23:59)
    claimed and acted on by eng; E3 (Monday 23rd, 00:00) by eng2, resolved; E4 (Monday 23rd,
    10:00) claimed by eng2, released, claimed by eng, no action; E5 open past its target."""
    clock.set(NOW)
    team = await factory.team()
    eng, eng2 = team["eng"], team["eng2"]
    tl = Timeline(factory, team["tech"], T0)
    e = {}
    e[0] = tl.escalation(created=_offset(datetime(2026, 10, 26, 15, 0, tzinfo=UTC)))
    e[1] = tl.escalation(created=0, claimed=60, claimer=eng, steps=[(360, eng)])
    c2 = _offset(datetime(2026, 11, 22, 23, 59, tzinfo=UTC))
    e[2] = tl.escalation(created=c2, claimed=c2 + 60, claimer=eng, steps=[(c2 + 180, eng)])
    c3 = _offset(datetime(2026, 11, 23, tzinfo=UTC))
    e[3] = tl.escalation(
        created=c3, claimed=c3 + 30, claimer=eng2, steps=[(c3 + 120, eng2)], status="resolved"
    )
    c4 = _offset(datetime(2026, 11, 23, 10, tzinfo=UTC))
    e[4] = tl.escalation(
        created=c4, released=[(c4 + 10, eng2, c4 + 20)], claimed=c4 + 90, claimer=eng
    )
    e[5] = tl.escalation(created=_offset(datetime(2026, 11, 25, 10, tzinfo=UTC)))
    await tl.save()
    return team, {k: v.ids["handoff"] for k, v in e.items()}


def _week(start, n, claimed, acted, ttc, ttfa):  # type: ignore[no-untyped-def]
    return {
        "week_start": start,
        "n_escalated": n,
        "n_claimed": claimed,
        "n_with_action": acted,
        "time_to_claim_median_seconds": ttc,
        "time_to_first_action_median_seconds": ttfa,
    }


async def test_weekly_monday_weeks_oldest_first_with_empty_weeks(client, factory, clock):
    team, _ = await _history(factory, clock)
    r = await client.get(WEEKLY, params={"weeks": 4}, headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    for item in items:
        item["week_start"] = datetime.fromisoformat(item["week_start"]).strftime("%Y-%m-%d %H:%M")
    assert items == [
        _week("2026-11-02 00:00", 1, 1, 1, 60.0, 300.0),  # E1 (Sunday the 8th)
        _week("2026-11-09 00:00", 0, 0, 0, None, None),
        _week("2026-11-16 00:00", 1, 1, 1, 60.0, 120.0),  # E2, Sunday 23:59
        # E3 at Monday 00:00 sharp, E4 (its final claim 90 s after creation), E5 open.
        _week("2026-11-23 00:00", 3, 2, 1, 60.0, 90.0),
    ]
    default = (await client.get(WEEKLY, headers=team["admin"].headers)).json()["items"]
    assert len(default) == 12
    assert default[0]["week_start"].startswith("2026-09-07")


async def test_seniors(client, factory, clock):
    team, _ = await _history(factory, clock)
    r = await client.get(SENIORS, headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [
        {
            "user_id": team["eng"].id,
            "name": team["eng"].name,
            "n_claimed": 3,  # E1, E2 and E4 (E4's earlier claim was eng2's)
            "n_with_action": 2,
            "time_to_first_action_median_seconds": 210.0,  # 300 and 120
            "n_resolved": 0,
        },
        {
            "user_id": team["eng2"].id,
            "name": team["eng2"].name,
            "n_claimed": 1,
            "n_with_action": 1,
            "time_to_first_action_median_seconds": 90.0,
            "n_resolved": 1,
        },
    ]
    # Since Sunday 22nd 15:00: E2 and E4 for eng, E3 for eng2 (E1 is older).
    r = await client.get(SENIORS, params={"days": 3}, headers=team["eng"].headers)
    assert [(i["name"], i["n_claimed"]) for i in r.json()["items"]] == [
        (team["eng"].name, 2),
        (team["eng2"].name, 1),
    ]


HEADER = (
    "id,created_at,urgency,status,claimed_at,claimed_by_id,first_action_at,resolved_at,"
    "time_to_claim_seconds,time_to_first_action_seconds,breached,assigned_at"
)


async def test_export_csv_and_json(client, factory, clock):
    team, ids = await _history(factory, clock)
    r = await client.get(EXPORT, headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(r.text)))
    # E0 was created exactly 30 days before now: the window is (now - 30 days, now].
    assert [row["id"] for row in rows] == [ids[k] for k in (1, 2, 3, 4, 5)]
    e1, e2, e3, e4, e5 = rows
    assert (e1["status"], e1["claimed_by_id"], e1["urgency"]) == (
        "claimed",
        team["eng"].id,
        "normal",
    )
    assert (e1["time_to_claim_seconds"], e1["time_to_first_action_seconds"]) == ("60.0", "300.0")
    assert datetime.fromisoformat(e1["created_at"]) == T0
    assert datetime.fromisoformat(e1["first_action_at"]) == datetime(2026, 11, 8, 12, 6, tzinfo=UTC)
    assert (e1["resolved_at"], e1["breached"]) == ("", "false")
    assert (e3["status"], e3["claimed_by_id"]) == ("resolved", team["eng2"].id)
    assert datetime.fromisoformat(e3["resolved_at"]) == datetime(2026, 11, 23, 0, 2, 1, tzinfo=UTC)
    assert (e4["time_to_claim_seconds"], e4["first_action_at"]) == ("90.0", "")
    # E5: open five hours, its target is 60 minutes.
    assert (e5["status"], e5["claimed_at"], e5["time_to_claim_seconds"], e5["breached"]) == (
        "open",
        "",
        "",
        "true",
    )
    assert e2["breached"] == "false"

    j = await client.get(EXPORT, params={"format": "json"}, headers=team["eng"].headers)
    assert j.status_code == 200
    items = j.json()["items"]
    assert [list(i) for i in items] == [HEADER.split(",")] * 5
    as_csv = [
        {
            k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in i.items()
        }
        for i in items
    ]
    assert as_csv == rows

    wider = await client.get(
        EXPORT, params={"days": 31, "format": "json"}, headers=team["eng"].headers
    )
    first = wider.json()["items"][0]
    assert (first["id"], first["status"], first["breached"]) == (ids[0], "open", True)


async def test_export_writes_fractions_of_a_second_as_the_api_writes_times(client, factory, clock):
    """Times off the whole second keep their microseconds (``.250000Z``, as every JSON time of
    the API), durations are rounded to the millisecond; CSV and JSON carry the same text."""
    clock.set(NOW)
    team = await factory.team()
    eng = team["eng"]
    tl = Timeline(factory, team["tech"], T0)
    e = tl.escalation(created=0.25, claimed=60.7505, claimer=eng, steps=[(61, eng)])
    await tl.save()
    csv_text = (await client.get(EXPORT, headers=eng.headers)).text
    (row,) = list(csv.DictReader(io.StringIO(csv_text)))
    assert row["id"] == e.ids["handoff"]
    assert (row["created_at"], row["claimed_at"], row["first_action_at"]) == (
        "2026-11-08T12:00:00.250000Z",
        "2026-11-08T12:01:00.750500Z",
        "2026-11-08T12:01:01Z",
    )
    # 60.5005 s and 0.2495 s to the millisecond, half a millisecond up.
    assert (row["time_to_claim_seconds"], row["time_to_first_action_seconds"]) == (
        "60.501",
        "0.25",
    )
    j = await client.get(EXPORT, params={"format": "json"}, headers=eng.headers)
    (item,) = j.json()["items"]
    assert item["created_at"] == row["created_at"]
    assert item["claimed_at"] == row["claimed_at"]
    assert item["first_action_at"] == row["first_action_at"]
    assert (item["time_to_claim_seconds"], item["time_to_first_action_seconds"]) == (60.501, 0.25)


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (WEEKLY, {"weeks": 0}, "weeks"),
        (WEEKLY, {"weeks": 105}, "weeks"),
        (WEEKLY, {"weeks": "twelve"}, "weeks"),
        (SENIORS, {"days": 0}, "days"),
        (SENIORS, {"days": 366}, "days"),
        (EXPORT, {"days": "x"}, "days"),
        (EXPORT, {"format": "xml"}, "format"),
    ],
)
async def test_validation_names_the_parameter(client, factory, url, params, field):
    eng = await factory.user(role="engineer")
    r = await client.get(url, params=params, headers=eng.headers)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["detail"]]


async def test_other_accounts_see_none_of_it(client, factory, clock):
    team, _ = await _history(factory, clock)
    other = await factory.team()
    h = other["admin"].headers
    weeks = (await client.get(WEEKLY, params={"weeks": 4}, headers=h)).json()["items"]
    assert [w["n_escalated"] for w in weeks] == [0, 0, 0, 0]
    assert (await client.get(SENIORS, headers=h)).json()["items"] == []
    assert (await client.get(EXPORT, params={"format": "json"}, headers=h)).json()["items"] == []
    assert (await client.get(EXPORT, headers=h)).text.splitlines() == [HEADER]
    for url in (WEEKLY, SENIORS, EXPORT):
        assert (await client.get(url, headers=team["tech"].headers)).status_code == 403


async def test_a_hand_over_counts_the_first_action_from_the_hand_over_everywhere(
    client, factory, clock
):
    """eng claims, acts nothing, hands it to eng2 after 3 minutes; eng2 acts 45 s later: every
    view says 45 s (the escalations stats, weekly, seniors, the export), not 3 min 45 s."""
    clock.set(NOW)
    team = await factory.team()
    eng, eng2 = team["eng"], team["eng2"]
    h = await escalated(client, team["tech"])
    clock.advance(seconds=20)
    await claim(client, eng, h["id"])
    clock.advance(minutes=3)
    r = await post(client, eng, f"/api/v1/handoffs/{h['id']}/assign", {"user_id": eng2.id})
    assert r.status_code == 200, r.text
    clock.advance(seconds=45)
    await add_step(client, eng2, h["session_id"], content="Replaced the cable")

    stats = (await client.get("/api/v1/analytics/escalations", headers=eng.headers)).json()
    assert stats["time_to_first_action"]["median_seconds"] == 45.0
    week = (await client.get(WEEKLY, params={"weeks": 1}, headers=eng.headers)).json()["items"]
    assert week[0]["time_to_first_action_median_seconds"] == 45.0
    seniors = (await client.get(SENIORS, headers=eng.headers)).json()["items"]
    assert [(s["user_id"], s["time_to_first_action_median_seconds"]) for s in seniors] == [
        (eng2.id, 45.0)
    ]
    rows = list(csv.DictReader(io.StringIO((await client.get(EXPORT, headers=eng.headers)).text)))
    (row,) = rows
    assert (row["claimed_by_id"], row["time_to_first_action_seconds"]) == (eng2.id, "45.0")
    assert (row["time_to_claim_seconds"], row["assigned_at"] != "") == ("20.0", True)
    j = (await client.get(EXPORT, params={"format": "json"}, headers=eng.headers)).json()
    assert j["items"][0]["time_to_first_action_seconds"] == 45.0
    assert datetime.fromisoformat(j["items"][0]["assigned_at"]) == NOW.replace(minute=3, second=20)
