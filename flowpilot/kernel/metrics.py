"""The process's Prometheus registry; each metric is made once, on first use, by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

M = TypeVar("M", Counter, Gauge, Histogram)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._made: dict[str, Any] = {}

    def _get(self, kind: type[M], name: str, doc: str, labels: Sequence[str], **kw: Any) -> M:
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = kind(name, doc, list(labels), registry=self.registry, **kw)
        if not isinstance(found, kind):
            raise TypeError(f"metric {name} is a {type(found).__name__}, not a {kind.__name__}")
        return found

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return self._get(Counter, name, doc, labels)

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return self._get(Gauge, name, doc, labels)

    def histogram(
        self, name: str, doc: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> Histogram:
        if buckets:
            return self._get(Histogram, name, doc, labels, buckets=tuple(buckets))
        return self._get(Histogram, name, doc, labels)


# Business durations ------------------------------------------------------------------------
# A service notes a duration on its session (it has no registry); the request's unit of work
# (``kernel.deps.get_session``) observes the notes on the process's registry once the
# transaction has committed, so a rolled-back claim or step is never counted.

TIME_TO_CLAIM = "flowpilot_time_to_claim_seconds"
TIME_TO_FIRST_ACTION = "flowpilot_time_to_first_action_seconds"
DURATIONS = {
    TIME_TO_CLAIM: "Escalation created -> claimed, by urgency",
    TIME_TO_FIRST_ACTION: "Claimed -> the claimer's first step, by urgency",
}
DURATION_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
_NOTES = "flowpilot_duration_notes"


def duration_histogram(metrics: Metrics, name: str) -> Histogram:
    return metrics.histogram(name, DURATIONS[name], ["urgency"], DURATION_BUCKETS)


def declare_durations(metrics: Metrics) -> None:
    """Make the duration histograms at start-up, so ``/metrics`` shows them before any claim."""
    for name in DURATIONS:
        duration_histogram(metrics, name)


def note_duration(session: Any, name: str, *, urgency: str, seconds: float) -> None:
    """Observe ``seconds`` on histogram ``name`` if and when ``session`` commits."""
    session.info.setdefault(_NOTES, []).append((name, urgency, max(0.0, seconds)))


def observe_noted(session: Any, metrics: Metrics) -> None:
    """Move the committed session's duration notes onto the registry."""
    for name, urgency, seconds in session.info.pop(_NOTES, []):
        duration_histogram(metrics, name).labels(urgency=urgency).observe(seconds)
