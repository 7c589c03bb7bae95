"""``flowpilot pilot-report`` in all three formats, across accounts, on this worker's database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta
from html.parser import HTMLParser

from typer.testing import CliRunner

from flowpilot.runtime.cli import app as cli
from tests.analytics.timeline import Timeline, add_baseline


async def _invoke(database_url: str, *args: str):  # type: ignore[no-untyped-def]
    # The command runs its own event loop (asyncio.run), so it runs in a thread here.
    runner = CliRunner()
    env = {"FLOWPILOT_DATABASE_URL": database_url, "FLOWPILOT_REDIS_URL": ""}
    return await asyncio.to_thread(runner.invoke, cli, ["pilot-report", *args], env=env)


async def _two_accounts(factory, db, clock):  # type: ignore[no-untyped-def]
    good = await factory.team(await factory.account("Acme Field Service"))
    quiet = await factory.team(await factory.account("Quiet Co"))
    tl = Timeline(factory, good["tech"], clock.now() - timedelta(days=2))
    for i, seconds in enumerate([30, 60, 90, 120, 150, 60, 45]):
        start = i * 1000
        tl.escalation(
            created=start,
            claimed=start + 20 * (i + 1),
            claimer=good["eng"],
            steps=[(start + 20 * (i + 1) + seconds, good["eng"])],
        )
    tl.escalation(created=9000)  # never claimed
    await tl.save()
    await add_baseline(db, good["eng"], [1800, 2400, 1500, 2700, 3000], clock.now())
    tl = Timeline(factory, quiet["tech"], clock.now() - timedelta(days=2))
    tl.escalation(created=0, claimed=600, claimer=quiet["eng"])
    await tl.save()
    return good, quiet


async def test_pilot_report_json(factory, db, clock, database_url):
    good, _quiet = await _two_accounts(factory, db, clock)
    result = await _invoke(database_url, "--format", "json", "--days", "7")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["days"] == 7 and payload["bar_hours_per_week"] == 1.0
    rows = {r["account"]: r for r in payload["accounts"]}
    assert set(rows) == {"Acme Field Service", "Quiet Co"}
    acme = rows["Acme Field Service"]
    assert acme["account_id"] == good["eng"].account_id
    assert (acme["escalations"], acme["claimed"], acme["with_action"]) == (8, 7, 7)
    assert acme["median_time_to_claim_seconds"] == 80.0  # 20, 40, ..., 140
    assert acme["median_time_to_first_action_seconds"] == 60.0
    assert acme["baseline_median_seconds"] == 2400.0
    assert acme["n_baseline"] == 5
    assert acme["escalations_per_week"] == 8.0
    assert acme["hours_saved_per_week"] == 5.2  # (2400 - 60) x 8 / 3600
    assert acme["verdict"] == "above_bar"
    assert acme["hours_saved_per_week_low"] > 1.0  # above the bar by the interval's low end
    assert acme["hours_saved_per_week_low"] < 5.2 < acme["hours_saved_per_week_high"]
    assert acme["confidence"] == 0.95
    assert len(acme["weeks"]) == 12 and sum(w["n_escalated"] for w in acme["weeks"]) == 8
    assert payload["summary"] == "1 of 2 pilots above the bar"
    q = rows["Quiet Co"]
    assert (q["escalations"], q["claimed"], q["with_action"]) == (1, 1, 0)
    assert q["median_time_to_claim_seconds"] == 600.0
    assert q["median_time_to_first_action_seconds"] is None
    assert q["baseline_median_seconds"] is None and q["hours_saved_per_week"] is None
    assert q["verdict"] == "insufficient_data"


async def test_pilot_report_csv(factory, db, clock, database_url):
    await _two_accounts(factory, db, clock)
    result = await _invoke(database_url, "--format", "csv", "--days", "7")
    assert result.exit_code == 0, result.output
    rows = {r["account"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["Acme Field Service"]["hours_saved_per_week"] == "5.2"
    assert rows["Acme Field Service"]["verdict"] == "above_bar"
    assert rows["Quiet Co"]["median_time_to_first_action_seconds"] == ""
    assert rows["Quiet Co"]["escalations"] == "1"
    assert float(rows["Acme Field Service"]["hours_saved_per_week_low"]) > 1.0
    assert rows["Acme Field Service"]["weeks"].count(";") == 11  # 12 weeks, oldest first


async def test_pilot_report_table(factory, db, clock, database_url):
    await _two_accounts(factory, db, clock)
    result = await _invoke(database_url, "--days", "7")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Pilot report" in out
    acme = next(line for line in out.splitlines() if "Acme Field Service" in line)
    for cell in ("8", "7", "1m 20s", "1m 00s", "40m 00s (5)", "5.20", "above_bar"):
        assert cell in acme, (cell, acme)
    quiet = next(line for line in out.splitlines() if "Quiet Co" in line)
    assert "10m 00s" in quiet and "insufficient_data" in quiet
    assert out.strip().splitlines()[-1] == "1 of 2 pilots above the bar"


async def test_pilot_report_progress_for_many_accounts(factory, db, clock, database_url):
    for i in range(21):
        await factory.account(f"Tenant {i:02d}")
    result = await _invoke(database_url, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 22  # header + 21 accounts
    assert "Measuring accounts" in result.stderr


async def test_pilot_report_rejects_bad_options(database_url):
    result = await _invoke(database_url, "--format", "xml")
    assert result.exit_code == 2 and "--format" in result.output
    result = await _invoke(database_url, "--days", "0")
    assert result.exit_code == 2 and "--days" in result.output


class _Page(HTMLParser):
    """Collects what the operator's page holds: its charts, links, scripts and ids."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs = 0
        self.sections: list[str] = []
        self.fetches: list[str] = []
        self.ids: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag in ("script", "link", "img", "iframe") or (tag == "a" and a.get("href")):
            self.fetches.append(tag)
        if a.get("id"):
            self.ids.append(a["id"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_pilot_report_html_is_one_self_contained_page(factory, db, clock, database_url):
    good, quiet = await _two_accounts(factory, db, clock)
    empty = await factory.account("Empty Ltd")  # no users, no escalations
    result = await _invoke(database_url, "--format", "html", "--days", "7")
    assert result.exit_code == 0, result.output
    page = _Page()
    page.feed(result.stdout)
    page.close()
    assert result.stdout.startswith("<!doctype html>")
    ids = {good["eng"].account_id, quiet["eng"].account_id, empty.id}
    assert sorted(page.sections) == sorted(f"account-{i}" for i in ids)
    assert page.svgs == 3  # one chart per account, the empty one included
    assert page.fetches == []  # nothing to load: no script, stylesheet, image or link
    assert "http" not in result.stdout.replace("http://www.w3.org", "")
    assert len(page.ids) == len(set(page.ids))
    text = " ".join(page.text)
    assert "Acme Field Service" in text and "above bar" in text
    assert "No claimed escalations in the last 12 weeks" in text  # the empty account's chart
    assert text.strip().endswith("1 of 3 pilots above the bar")
