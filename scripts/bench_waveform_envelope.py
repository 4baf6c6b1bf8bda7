"""Benchmark of the waveform envelope for display: one hour of 16-kHz mono speech.

Run: .venv/bin/python scripts/bench_waveform_envelope.py [minutes]
Prints the time to build the overview once, to redraw a full view and a zoomed view from it,
and to compute an envelope straight from the samples.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from dawn_studio.stages.audio.waveform import WaveformOverview, waveform_envelope


def best_of(repeats: int, action) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    rate = 16_000
    count = int(minutes * 60 * rate)
    samples = (np.random.default_rng(0).standard_normal(count, dtype=np.float32) * 0.1)
    print(f"signal: {minutes:g} min at {rate} Hz = {count:,} samples ({samples.nbytes / 2**20:.0f} MiB)")
    overview = WaveformOverview.from_samples(samples, rate)
    rows = [
        ("overview build (hop 256)", best_of(3, lambda: WaveformOverview.from_samples(samples, rate))),
        ("redraw whole clip, 2000 buckets", best_of(20, lambda: overview.envelope(2000))),
        ("redraw 60-s window, 2000 buckets", best_of(20, lambda: overview.envelope(2000, 600.0, 660.0))),
        ("redraw 50-ms window from samples", best_of(20, lambda: overview.envelope(800, 600.0, 600.05, samples))),
        ("direct envelope, 2000 buckets", best_of(3, lambda: waveform_envelope(samples, 2000))),
        ("direct envelope, 1999 buckets (uneven)", best_of(3, lambda: waveform_envelope(samples, 1999))),
    ]
    for label, seconds in rows:
        print(f"{label:<42} {seconds * 1000:9.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
