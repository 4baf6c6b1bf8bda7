"""Structured progress of a generation: which stage, which step, overall fraction and ETA."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Stages in pipeline order with their rough share of the total time (re-normalised over the
# stages a run actually executes; cached stages are skipped and take no share).
STAGE_WEIGHTS: dict[str, float] = {
    "load": 0.05, "portrait": 0.03, "speech": 0.07, "motion": 0.02,
    "diffusion": 0.63, "render": 0.15, "enhance": 0.10, "compose": 0.05,
}
STAGE_LABELS: dict[str, str] = {
    "load": "Loading models", "portrait": "Analysing the portrait", "speech": "Listening to the speech",
    "motion": "Planning head motion and blinks", "diffusion": "Generating motion (diffusion)",
    "render": "Rendering frames", "enhance": "Enhancing the face", "compose": "Writing the preview",
}


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report. ``fraction`` is overall (0..1); ``eta_seconds`` None until estimable."""

    stage: str
    step: int
    total: int
    fraction: float
    eta_seconds: float | None
    cached: bool = False
    detail: str = ""  # what the steps count, in words (e.g. "face crop, frame 34/100"); replaces "step i/n"

    @property
    def label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)

    def describe(self) -> str:
        text = self.label + (" (cached)" if self.cached else "")
        if self.detail:
            text += f" — {self.detail}"
        elif self.total > 1:
            text += f" — step {self.step}/{self.total}"
        if self.eta_seconds is not None:
            text += f" — about {format_duration(self.eta_seconds)} left"
        return text


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressTracker:
    """Turns per-stage step counts into ``ProgressEvent``s with an overall fraction and ETA."""

    def __init__(self, stages: list[str], sink: Callable[[ProgressEvent], None] | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        total = sum(STAGE_WEIGHTS.get(s, 0.05) for s in stages) or 1.0
        self.weights = {s: STAGE_WEIGHTS.get(s, 0.05) / total for s in stages}
        self.order = list(stages)
        self.sink = sink
        self.clock = clock
        self.started = clock()
        self.events: list[ProgressEvent] = []
        self._diffusion_marks: list[tuple[float, int]] = []  # (time, step) of the denoiser's steps
        self._last_eta: tuple[float, float] | None = None  # (time, seconds left) last reported

    def _base(self, stage: str) -> float:
        return sum(self.weights[s] for s in self.order[: self.order.index(stage)])

    def update(self, stage: str, step: int, total: int, cached: bool = False, detail: str = "") -> ProgressEvent:
        if stage not in self.weights:
            raise KeyError(f"stage {stage!r} was not announced")
        inner = min(1.0, step / total) if total > 0 else 1.0
        fraction = min(1.0, self._base(stage) + self.weights[stage] * inner)
        now = self.clock()
        if stage == "diffusion" and not (self._diffusion_marks and self._diffusion_marks[-1][1] == step):
            self._diffusion_marks.append((now, step))
        eta = self._estimate(stage, step, total, fraction, now)
        self._last_eta = None if eta is None else (now, eta)
        event = ProgressEvent(stage, step, total, fraction, eta, cached, detail)
        self.events.append(event)
        if self.sink is not None:
            self.sink(event)
        return event

    def _estimate(self, stage: str, step: int, total: int, fraction: float, now: float) -> float | None:
        """Seconds left, steady: from measured denoiser step times once two steps are known (the
        denoiser is most of a run), never from the fixed stage weights alone before that."""
        if "diffusion" in self.weights and len(self._diffusion_marks) < 2:
            return None
        if stage == "diffusion":
            (t0, s0), (t1, s1) = self._diffusion_marks[0], self._diffusion_marks[-1]
            per_step = (t1 - t0) / max(1, s1 - s0)
            after = sum(self.weights[s] for s in self.order[self.order.index("diffusion") + 1:])
            return (total - step) * per_step + per_step * total * after / self.weights["diffusion"]
        elapsed = now - self.started
        if fraction <= 0.02 or elapsed <= 0.5:
            return None
        measured = elapsed * (1 - fraction) / fraction
        if self._last_eta is None:
            return measured
        then, left = self._last_eta
        return max(0.0, 0.5 * (left - (now - then)) + 0.5 * measured)  # no jumps between reports

    def step_callback(self, stage: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback for one stage's function."""
        return lambda done, total: self.update(stage, done, total)
