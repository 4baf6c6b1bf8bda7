"""Min/max waveform envelopes for display, fast even for an hour of audio.

``waveform_envelope`` reduces any span of samples to a fixed number of (min, max) buckets in a
few vectorised passes. ``WaveformOverview`` precomputes the envelope at a fine hop once, so a
view that is redrawn while zooming or scrolling reads the small overview instead of the samples
(and the samples only once a bucket is shorter than the hop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_HOP = 256


@dataclass(frozen=True)
class Envelope:
    """Per-bucket minimum and maximum (float32), plus the sample span each bucket starts at."""

    mins: np.ndarray
    maxs: np.ndarray
    starts: np.ndarray  # first sample of each bucket (int64)

    def __len__(self) -> int:
        return int(self.mins.shape[0])


def _bucket_starts(start: int, end: int, buckets: int) -> np.ndarray:
    """Bucket boundaries spread evenly over ``[start, end)``; a bucket narrower than one sample
    takes the sample under it, so there are never empty buckets."""
    edges = start + (np.arange(buckets, dtype=np.int64) * (end - start)) // buckets
    return np.minimum(edges, end - 1)


def _span(length: int, start: int, end: int | None) -> tuple[int, int]:
    stop = length if end is None else min(int(end), length)
    begin = max(0, int(start))
    if begin >= stop:
        raise ValueError(f"empty sample range [{start}, {end}) of a signal of {length} samples")
    return begin, stop


def waveform_envelope(samples: np.ndarray, buckets: int, start: int = 0, end: int | None = None) -> Envelope:
    """(min, max) of ``samples[start:end]`` (mono) in ``buckets`` equal parts."""
    if samples.ndim != 1:
        raise ValueError("waveform_envelope expects mono samples (a 1-D array)")
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    begin, stop = _span(samples.shape[0], start, end)
    starts = _bucket_starts(begin, stop, buckets)
    span = samples[begin:stop]
    width = stop - begin
    if width % buckets == 0:  # equal buckets: a reshape is several times faster than reduceat
        shaped = span.reshape(buckets, width // buckets)
        mins, maxs = shaped.min(axis=1), shaped.max(axis=1)
    else:
        local = starts - begin
        mins, maxs = np.minimum.reduceat(span, local), np.maximum.reduceat(span, local)
    return Envelope(mins.astype(np.float32, copy=False), maxs.astype(np.float32, copy=False), starts)


@dataclass(frozen=True)
class WaveformOverview:
    """The envelope of a whole signal at ``hop`` samples per entry, for quick redraws at any zoom."""

    mins: np.ndarray
    maxs: np.ndarray
    hop: int
    num_samples: int
    sample_rate: int

    @classmethod
    def from_samples(cls, samples: np.ndarray, sample_rate: int, hop: int = DEFAULT_HOP) -> WaveformOverview:
        if hop < 1:
            raise ValueError("hop must be at least 1")
        count = samples.shape[0]
        if count == 0:
            raise ValueError("cannot draw a waveform of an empty signal")
        full = count // hop
        mins = np.empty(full + (count % hop > 0), dtype=np.float32)
        maxs = np.empty_like(mins)
        if full:
            shaped = samples[: full * hop].reshape(full, hop)
            mins[:full], maxs[:full] = shaped.min(axis=1), shaped.max(axis=1)
        if count % hop:
            rest = samples[full * hop:]
            mins[full], maxs[full] = rest.min(), rest.max()
        return cls(mins, maxs, hop, count, sample_rate)

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    def envelope(
        self, buckets: int, start_s: float = 0.0, end_s: float | None = None,
        samples: np.ndarray | None = None,
    ) -> Envelope:
        """``buckets`` (min, max) pairs over ``[start_s, end_s)``. With ``samples`` given, views zoomed
        in beyond the hop are computed from the samples themselves (exact); otherwise from the overview
        (each bucket then covers whole hops, so it may reach up to one hop beyond its exact span)."""
        begin = int(round(start_s * self.sample_rate))
        stop = self.num_samples if end_s is None else int(round(end_s * self.sample_rate))
        begin, stop = _span(self.num_samples, begin, stop)
        if samples is not None and (stop - begin) < buckets * self.hop:
            return waveform_envelope(samples, buckets, begin, stop)
        first, end_hop = begin // self.hop, -(-stop // self.hop)
        starts = _bucket_starts(begin, stop, buckets)
        ends = np.append(starts[1:], stop)
        # Bucket i covers hops lo[i]..last[i]; reduceat gives lo[i]..lo[i+1]-1, and last[i] is at most lo[i+1].
        lo = starts // self.hop - first
        last = np.maximum((ends - 1) // self.hop - first, lo)
        mins_all, maxs_all = self.mins[first:end_hop], self.maxs[first:end_hop]
        mins = np.minimum(np.minimum.reduceat(mins_all, lo), mins_all[last])
        maxs = np.maximum(np.maximum.reduceat(maxs_all, lo), maxs_all[last])
        return Envelope(mins, maxs, starts)
