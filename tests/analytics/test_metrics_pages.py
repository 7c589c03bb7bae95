"""The metrics dashboard page, its baseline form, the SVG chart and the stat card partial."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flowpilot.analytics import breakdown, chart, service
from flowpilot.web.render import templates
from tests.analytics.timeline import Timeline, add_baseline

PAGE = "/metrics-dashboard"
HTML = {"accept": "text/html"}


def _cookie(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"cookie": f"flowpilot_session={user.token}", **HTML}


async def test_dashboard_shows_savings_chart_and_baseline(client, factory, db, clock):
    clock.set(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # a Wednesday: weeks start on Monday
    team = await factory.team()
    tl = Timeline(factory, team["tech"], clock.now() - timedelta(days=2))
    for i, seconds in enumerate([30, 60, 90, 120, 150]):
        tl.escalation(
            created=i * 1000,
            claimed=i * 1000 + 40,
            claimer=team["eng"],
            steps=[(i * 1000 + 40 + seconds, team["eng"])],
        )
    # Three weeks ago: a second point on the chart.
    tl.t0 = clock.now() - timedelta(days=20)
    tl.escalation(created=0, claimed=600, claimer=team["eng"], steps=[(900, team["eng"])])
    await tl.save()
    await add_baseline(db, team["eng"], [1800, 2400, 1500, 2700, 3000], clock.now())

    r = await client.get(PAGE, params={"days": 7}, headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    html = r.text
    # Savings: (2400 - 90) x 5/week / 3600 = 3.21 h, above the bar, with both sample sizes.
    assert re.search(r'id="hours-saved">\s*3\.21 h', html)
    assert "Above the 1 h/week bar" in html
    assert "n = 5 observations" in html and "n = 5 escalations acted on" in html
    # Stat card rendered server-side: 5 of 5 acted on, avg and median 1m 30s.
    card = html[html.index('id="stat-card"') :]
    assert 'data-field="n_with_action">5<' in card and 'data-field="n_claimed">5<' in card
    assert 'data-field="median">1m 30s<' in card
    # The SVG chart: two series with a legend and axis labels, 2 weeks with data.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "Median time to claim" in svg and "Median time to first action" in svg
    assert "Week starting (Monday, UTC)" in svg and "Median (minutes)" in svg
    # 2 weeks x 2 series + 2 legend markers + this week's hours saved (5 and 5: a band).
    assert svg.count("<circle") == 2 * 2 + 2 + 1
    band = svg[svg.index('id="savings-band"') :]
    assert band.count("<polygon") == 1 and "Hours saved / week" in svg
    # (2400 - 90) x 5 / 3600 = 3.21 h this week, its range from the bootstrap.
    assert re.search(
        r"Hours saved, week of Nov 23: 3\.21 h \(95 % range \d\.\d\d to \d\.\d\d\)", band
    )
    # The per-senior table and the export link.
    seniors = html[html.index('id="seniors-table"') :]
    assert team["eng"].name in seniors and '<td data-label="Claimed">5<' in seniors
    assert 'href="/api/v1/analytics/escalations/export?days=7&amp;format=csv"' in html
    assert "Download CSV" in html
    assert len(re.findall(r"<tr data-id=", html)) == 5


async def test_dashboard_roles(client, factory):
    team = await factory.team()
    assert (await client.get(PAGE, headers=team["admin"].headers)).status_code == 200
    r = await client.get(PAGE, headers={**team["tech"].headers, **HTML})
    assert r.status_code == 403
    r = await client.get(PAGE, headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_empty_dashboard(client, factory):
    eng = await factory.user(role="engineer")
    r = await client.get(PAGE, headers=eng.headers)
    assert r.status_code == 200
    assert "Not enough data yet" in r.text
    assert "No claimed escalations in the last 12 weeks" in r.text
    assert 'id="baseline-empty"' in r.text


async def test_baseline_form_add_edit_delete(client, factory):
    team = await factory.team()
    eng = team["eng"]
    form = {
        "csrf_token": eng.csrf_token,
        "duration": "12:30",
        "note": "called Dana",
        "observed_at": "2026-01-02T10:00",
    }
    r = await client.post(f"{PAGE}/baseline", data=form, headers=_cookie(eng))
    assert r.status_code == 303, r.text
    items = (await client.get("/api/v1/analytics/baseline", headers=eng.headers)).json()["items"]
    assert [(i["seconds"], i["note"], i["observed_at"][:19]) for i in items] == [
        (750.0, "called Dana", "2026-01-02T10:00:00")
    ]
    oid = items[0]["id"]

    # Without the CSRF token a cookie-authenticated form post is refused and changes nothing.
    r = await client.post(f"{PAGE}/baseline/{oid}/delete", data={}, headers=_cookie(eng))
    assert r.status_code == 403

    edit = {"csrf_token": eng.csrf_token, "duration": "1:00:05", "note": "", "observed_at": ""}
    r = await client.post(f"{PAGE}/baseline/{oid}", data=edit, headers=_cookie(eng))
    assert r.status_code == 303
    item = (await client.get("/api/v1/analytics/baseline", headers=eng.headers)).json()["items"][0]
    assert (item["seconds"], item["note"], item["observed_at"][:19]) == (
        3605.0,
        None,
        "2026-01-02T10:00:00",
    )

    bad = {**edit, "duration": "soon"}
    r = await client.post(f"{PAGE}/baseline/{oid}", data=bad, headers=_cookie(eng))
    # Said in words, without the field's id.
    assert r.status_code == 422
    assert 'id="metrics-error">The time must be seconds (90), minutes and seconds (1:30)' in r.text

    # Another account cannot delete it.
    other = await factory.user(role="admin")
    r = await client.post(
        f"{PAGE}/baseline/{oid}/delete",
        data={"csrf_token": other.csrf_token},
        headers=_cookie(other),
    )
    assert r.status_code == 404

    r = await client.post(
        f"{PAGE}/baseline/{oid}/delete", data={"csrf_token": eng.csrf_token}, headers=_cookie(eng)
    )
    assert r.status_code == 303
    assert (await client.get("/api/v1/analytics/baseline", headers=eng.headers)).json() == {
        "items": []
    }


async def test_baseline_form_errors_keep_input(client, factory):
    eng = await factory.user(role="engineer")
    form = {"csrf_token": eng.csrf_token, "duration": "0", "note": "kept", "observed_at": ""}
    r = await client.post(f"{PAGE}/baseline", data=form, headers=_cookie(eng))
    assert r.status_code == 422
    assert 'id="metrics-error"' in r.text and "seconds" in r.text
    assert 'value="kept"' in r.text
    assert (await client.get("/api/v1/analytics/baseline", headers=eng.headers)).json() == {
        "items": []
    }


def test_stat_card_partial_without_context_fetches_the_api():
    html = templates().env.get_template("analytics/_stat_card.html").render()
    assert "data-pending" in html and "/static/metrics.js" in html


def test_chart_scales_and_gaps(clock):
    now = clock.now()
    weeks = [
        service.WeekPoint(now - timedelta(weeks=3), now - timedelta(weeks=2), 0, None, None),
        service.WeekPoint(now - timedelta(weeks=2), now - timedelta(weeks=1), 3, 7200.0, 30.0),
        service.WeekPoint(now - timedelta(weeks=1), now, 1, 3600.0, None),
    ]
    c = chart.build(weeks)
    assert c.unit == "hours"
    assert [t.label for t in c.y_ticks][-1] == "2"
    claim, action = c.series
    assert len(claim.dots) == 2 and len(claim.segments) == 1
    assert len(action.dots) == 1
    # Higher value, higher on screen (smaller y).
    assert claim.dots[0].y < claim.dots[1].y


def test_chart_band_breaks_on_weeks_without_an_interval(clock):
    now = clock.now()
    start = now - timedelta(weeks=3)
    weeks = [
        service.WeekPoint(start + timedelta(weeks=i), start + timedelta(weeks=i + 1), 1, 60.0, 30.0)
        for i in range(3)
    ]
    bands = [
        breakdown.WeekSavings(weeks[0].start, 1.5, 0.5, 2.5),
        breakdown.WeekSavings(weeks[1].start, None, None, None),
        breakdown.WeekSavings(weeks[2].start, -0.5, -1.0, 0.2),
    ]
    c = chart.build(weeks, bands)
    assert len(c.band) == 2  # two lone weeks, each a narrow bar
    assert c.band_ticks[0].label == "-1"
    assert c.bar_y is not None and c.band_ticks[-1].pos < c.bar_y < c.band_ticks[0].pos
    assert chart.build(weeks).band == []
