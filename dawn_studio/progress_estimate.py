"""A steady time-left estimate for people: a range that narrows, never a number that jumps (no Qt).

The engine's tracker (:class:`dawn_studio.engine.events.ProgressTracker`) reports seconds left once two
denoiser steps are timed. Single reports still wobble (the first steps warm up caches, the rendering
stage runs at another pace), so the overlay shows the recent reports, each counted down by the time
since it was made, as a range: from the lowest to the highest, never narrower than a margin that
shrinks as more reports agree. Before any report it says "estimating…".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .engine.events import format_duration

#: How many recent reports make the range.
WINDOW = 6
#: Relative margin around the estimate with one report, and the least it shrinks to.
FIRST_MARGIN = 0.35
LEAST_MARGIN = 0.08


def _round_nicely(seconds: float, up: bool) -> int:
    """5-s steps under two minutes, 15-s steps under ten, whole minutes beyond."""
    step = 5 if seconds < 120 else 15 if seconds < 600 else 60
    value = (math.ceil if up else math.floor)(seconds / step) * step
    return max(0, int(value))


def format_span(seconds: int) -> str:
    """A rounded span as :func:`format_duration` says it, whole minutes without the "00 s"."""
    if 60 <= seconds < 3600 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return format_duration(seconds)


@dataclass
class TimeLeft:
    """Feed it the tracker's ``eta_seconds`` as reports arrive; read :meth:`text`."""

    clock: Callable[[], float] = time.monotonic
    reports: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds left then)

    def reset(self) -> None:
        self.reports.clear()

    def update(self, eta_seconds: float | None) -> None:
        if eta_seconds is not None and math.isfinite(eta_seconds) and eta_seconds >= 0:
            self.reports.append((self.clock(), float(eta_seconds)))
            del self.reports[:-WINDOW]

    def range(self) -> tuple[float, float] | None:
        """(soonest, latest) seconds left now, or None while estimating."""
        if not self.reports:
            return None
        now = self.clock()
        left = [max(0.0, eta - (now - when)) for when, eta in self.reports]
        centre = sorted(left)[len(left) // 2]
        margin = max(LEAST_MARGIN, FIRST_MARGIN / len(left)) * centre
        return max(0.0, min(min(left), centre - margin)), max(max(left), centre + margin)

    def text(self) -> str:
        span = self.range()
        if span is None:
            return "estimating time left…"
        low, high = _round_nicely(span[0], up=False), _round_nicely(span[1], up=True)
        if high <= 5:
            return "almost done"
        if low == high or low == 0 and high <= 10:
            return f"about {format_span(high)} left"
        return f"{format_span(low)} – {format_span(high)} left"


@dataclass
class Rate:
    """Steps per second within one stage, from the first and the latest step reported in it."""

    clock: Callable[[], float] = time.monotonic
    stage: str = ""
    first: tuple[float, int] | None = None
    last: tuple[float, int] | None = None

    def update(self, stage: str, step: int) -> None:
        now = self.clock()
        if stage != self.stage or self.first is None or step < self.first[1]:
            self.stage, self.first, self.last = stage, (now, step), (now, step)
        else:
            self.last = (now, step)

    def per_second(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        (t0, s0), (t1, s1) = self.first, self.last
        if s1 <= s0 or t1 <= t0:
            return None
        return (s1 - s0) / (t1 - t0)
