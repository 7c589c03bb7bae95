"""Analytics in/out: escalation timings, the manual baseline, savings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from flowpilot.kernel.schemas import Output, StrictInput, Timestamp

MAX_BASELINE_SECONDS = 7 * 24 * 3600
BaselineSeconds = Annotated[float, Field(gt=0, le=MAX_BASELINE_SECONDS, allow_inf_nan=False)]
BaselineNote = Annotated[str, StringConstraints(max_length=2000)]


class DurationStats(BaseModel):
    """Average, median and 90th percentile of a duration; ``null`` when there is no data."""

    avg_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None


class TargetCount(BaseModel):
    """Escalations whose claim was due, how many were claimed in time, and the percentage."""

    n_due: int
    n_met: int
    pct: float | None


class ClaimTargetMet(TargetCount):
    by_urgency: dict[str, TargetCount]


class EscalationStats(BaseModel):
    days: int
    window_start: datetime
    window_end: datetime
    n_escalated: int
    n_claimed: int
    n_with_action: int
    time_to_claim: DurationStats
    time_to_first_action: DurationStats
    metric_definition: str
    # Claim targets per urgency (analytics/claim_targets.py).
    claim_target_met: ClaimTargetMet


Verdict = Literal["insufficient_data", "below_bar", "inconclusive", "above_bar"]


class Savings(BaseModel):
    days: int
    baseline_median_seconds: float | None
    in_product_median_seconds: float | None
    escalations_per_week: float
    hours_saved_per_week: float | None
    # The 95 % bootstrap interval (analytics/bootstrap.py); null where hours_saved_per_week is.
    hours_saved_per_week_low: float | None
    hours_saved_per_week_high: float | None
    confidence: float
    n_baseline: int
    n_in_product: int
    n_escalated: int
    verdict: Verdict
    bar_hours_per_week: float
    min_sample: int
    definition: str


class BaselineCreate(StrictInput):
    seconds: BaselineSeconds
    note: BaselineNote | None = None
    observed_at: Timestamp | None = None


class BaselineUpdate(StrictInput):
    seconds: BaselineSeconds | None = None
    note: BaselineNote | None = None
    observed_at: Timestamp | None = None


class BaselineOut(Output):
    id: str
    seconds: float
    note: str | None
    observed_at: datetime
    created_by_id: str
    created_at: datetime
    updated_at: datetime


class BaselineList(Output):
    items: list[BaselineOut]


class WeekRow(BaseModel):
    """One Monday-to-Sunday week (UTC) of escalations created in it; null medians: no data."""

    week_start: datetime
    n_escalated: int
    n_claimed: int
    n_with_action: int
    time_to_claim_median_seconds: float | None
    time_to_first_action_median_seconds: float | None


class WeeklyOut(BaseModel):
    items: list[WeekRow]


class SeniorRow(BaseModel):
    """One claimer's escalations created in the window (claimed by them now, or resolved)."""

    user_id: str
    name: str
    n_claimed: int
    n_with_action: int
    time_to_first_action_median_seconds: float | None
    n_resolved: int


class SeniorsOut(BaseModel):
    items: list[SeniorRow]


class ExportRow(BaseModel):
    id: str
    created_at: datetime
    urgency: str
    status: str
    claimed_at: datetime | None
    claimed_by_id: str | None
    first_action_at: datetime | None
    resolved_at: datetime | None
    time_to_claim_seconds: float | None
    time_to_first_action_seconds: float | None
    breached: bool
    # Set when the escalation was handed to its current holder; its time to first action
    # counts from then (otherwise from claimed_at).
    assigned_at: datetime | None = None


class ExportOut(BaseModel):
    items: list[ExportRow]


ExportFormat = Literal["csv", "json"]
