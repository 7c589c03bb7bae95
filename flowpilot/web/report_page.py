"""``flowpilot pilot-report --format html``: one self-contained page an operator can send.

The same rows as the other formats (``analytics.report``), each account with its weekly chart
(the dashboard's inline SVG, ``analytics/_chart.html``) and its styles inline: no script, no
stylesheet, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flowpilot.analytics import breakdown, chart, report, service
from flowpilot.web.render import templates


def _chart(row: report.AccountRow) -> chart.Chart:
    points, bands = [], []
    for w in row.weeks:
        start = datetime.fromisoformat(w.week_start + "T00:00:00+00:00")
        points.append(
            service.WeekPoint(
                start,
                start + timedelta(weeks=1),
                w.n_escalated,
                w.time_to_claim_median_seconds,
                w.time_to_first_action_median_seconds,
            )
        )
        bands.append(
            breakdown.WeekSavings(
                start,
                w.hours_saved_per_week,
                w.hours_saved_per_week_low,
                w.hours_saved_per_week_high,
            )
        )
    return chart.build(points, bands)


def render(rows: Sequence[report.AccountRow], *, days: int, now: datetime) -> str:
    """The report as one HTML document."""
    template = templates().env.get_template("analytics/report.html")
    return template.render(
        accounts=[(row, _chart(row)) for row in rows],
        days=days,
        now=now,
        bar=service.BAR_HOURS_PER_WEEK,
        min_sample=service.MIN_SAMPLE,
        summary=report.above_bar(rows),
        fmt=report.duration,
        trend_weeks=report.TREND_WEEKS,
    )
