"""Geometry of the weekly medians chart, rendered as inline SVG by a template (no chart library)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from flowpilot.analytics.service import WeekPoint

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 48

SERIES = (
    ("claim", "Median time to claim", "#2457d6", "median_time_to_claim"),
    ("action", "Median time to first action", "#117a43", "median_time_to_first_action"),
)


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Series:
    key: str
    name: str
    color: str
    # Polylines: a week without data breaks the line instead of pretending it was zero.
    segments: list[str]
    dots: list[Dot]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    unit: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    has_data: bool


def _unit(max_seconds: float) -> tuple[str, float]:
    if max_seconds < 120:
        return "seconds", 1.0
    if max_seconds < 2 * 3600:
        return "minutes", 60.0
    return "hours", 3600.0


def _nice_step(max_value: float, max_ticks: int = 5) -> float:
    raw = max_value / max_ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw:
            return m * magnitude
    return 10 * magnitude


def _fmt(value: float) -> str:
    return f"{value:g}"


def build(points: Sequence[WeekPoint]) -> Chart:
    """Axes, ticks and series for the weekly medians (``points`` oldest week first)."""
    values = [
        getattr(p, attr) for p in points for *_, attr in SERIES if getattr(p, attr) is not None
    ]
    unit, scale = _unit(max(values) if values else 0.0)
    top_value = max(values) / scale if values else 1.0
    step = _nice_step(top_value if top_value > 0 else 1.0)
    y_max = step * max(1, math.ceil(top_value / step))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    n = max(len(points), 1)

    def x_at(i: int) -> float:
        return round(LEFT + (plot_w * (i + 0.5) / n), 1)

    def y_at(value: float) -> float:
        return round(TOP + plot_h - plot_h * (value / scale) / y_max, 1)

    y_ticks = [
        Tick(round(TOP + plot_h - plot_h * k * step / y_max, 1), _fmt(round(k * step, 6)))
        for k in range(round(y_max / step) + 1)
    ]
    x_ticks = [Tick(x_at(i), p.end.strftime("%b %d")) for i, p in enumerate(points)]
    series = []
    for key, name, color, attr in SERIES:
        segments: list[str] = []
        current: list[str] = []
        dots = []
        for i, p in enumerate(points):
            value = getattr(p, attr)
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = x_at(i), y_at(value)
            current.append(f"{x},{y}")
            dots.append(
                Dot(x, y, f"{name}, week to {p.end:%b %d}: {_fmt(round(value / scale, 1))} {unit}")
            )
        if current:
            segments.append(" ".join(current))
        series.append(Series(key, name, color, segments, dots))
    return Chart(
        WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM, unit, x_ticks, y_ticks, series, bool(values)
    )
