"""Geometry of the weekly medians chart, rendered as inline SVG by a template (no chart library).

Behind the medians (left axis, time), an optional band: each week's 95 % interval of hours
saved per week (right axis), with the 1 h/week bar as a dashed line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flowpilot.analytics.breakdown import WeekSavings
from flowpilot.analytics.service import BAR_HOURS_PER_WEEK, WeekPoint

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 48
RIGHT_WITH_BAND = 56
BAND_COLOR = "#c2410c"

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
    # The hours-saved band (right axis): polygons (a week without an interval breaks it),
    # per-week hover labels, the right axis' ticks and the bar's height; empty without a band.
    band: list[str]
    band_dots: list[Dot]
    band_ticks: list[Tick]
    bar_y: float | None


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


def build(points: Sequence[WeekPoint], bands: Sequence[WeekSavings] = ()) -> Chart:
    """Axes, ticks and series for the weekly medians (``points`` oldest week first), and the
    hours-saved band when ``bands`` (the same weeks) has any interval."""
    values = [
        getattr(p, attr) for p in points for *_, attr in SERIES if getattr(p, attr) is not None
    ]
    unit, scale = _unit(max(values) if values else 0.0)
    top_value = max(values) / scale if values else 1.0
    step = _nice_step(top_value if top_value > 0 else 1.0)
    y_max = step * max(1, math.ceil(top_value / step))
    has_band = any(b.low is not None for b in bands)
    right = RIGHT_WITH_BAND if has_band else RIGHT
    plot_w = WIDTH - LEFT - right
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
    x_ticks = [Tick(x_at(i), p.start.strftime("%b %d")) for i, p in enumerate(points)]
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
                Dot(
                    x, y, f"{name}, week of {p.start:%b %d}: {_fmt(round(value / scale, 1))} {unit}"
                )
            )
        if current:
            segments.append(" ".join(current))
        series.append(Series(key, name, color, segments, dots))
    band, band_dots, band_ticks, bar_y = (
        _band(bands, x_at, plot_h) if has_band else ([], [], [], None)
    )
    return Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        right,
        TOP,
        BOTTOM,
        unit,
        x_ticks,
        y_ticks,
        series,
        bool(values),
        band,
        band_dots,
        band_ticks,
        bar_y,
    )


def _band(
    bands: Sequence[WeekSavings], x_at: Callable[[int], float], plot_h: int
) -> tuple[list[str], list[Dot], list[Tick], float]:
    lows = [b.low for b in bands if b.low is not None]
    highs = [b.high for b in bands if b.high is not None]
    lo = min(0.0, *lows)
    hi = max(BAR_HOURS_PER_WEEK * 1.5, *highs)
    step = _nice_step(hi - lo)
    lo = step * math.floor(lo / step)
    hi = step * math.ceil(hi / step)

    def y_of(hours: float) -> float:
        return round(TOP + plot_h - plot_h * (hours - lo) / (hi - lo), 1)

    polygons: list[str] = []
    run: list[tuple[float, float, float]] = []
    dots = []
    for i, b in enumerate([*bands, WeekSavings(bands[0].week_start, None, None, None)]):
        if b.low is None or b.high is None:
            if run:
                # A lone week is drawn as a narrow bar so it stays visible.
                if len(run) == 1:
                    x, top, bottom = run[0]
                    run = [(x - 6, top, bottom), (x + 6, top, bottom)]
                upper = [f"{x},{top}" for x, top, _ in run]
                lower = [f"{x},{bottom}" for x, _, bottom in reversed(run)]
                polygons.append(" ".join(upper + lower))
            run = []
            continue
        x = x_at(i)
        run.append((x, y_of(b.high), y_of(b.low)))
        dots.append(
            Dot(
                x,
                y_of(b.hours if b.hours is not None else (b.low + b.high) / 2),
                f"Hours saved, week of {b.week_start:%b %d}: {b.hours:.2f} h "
                f"(95 % range {b.low:.2f} to {b.high:.2f})",
            )
        )
    ticks = [
        Tick(y_of(lo + k * step), _fmt(round(lo + k * step, 6)))
        for k in range(round((hi - lo) / step) + 1)
    ]
    return polygons, dots, ticks, y_of(BAR_HOURS_PER_WEEK)
