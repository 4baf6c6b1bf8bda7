"""Signal levels of audio blocks: peak, RMS, dBFS and clipping, gathered as the blocks stream past.

Used while decoding (to warn about silent or clipped speech without a second pass over the
file) and by the recorder's level meter. Full scale is 1.0 (float samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A sample this close to full scale counts as "at full scale" (int16 full scale is 32767/32768).
FULL_SCALE_THRESHOLD = 0.999
# Clipping leaves flat tops: this many consecutive full-scale samples of one channel make one clipped run.
CLIPPED_RUN_LENGTH = 3
SILENCE_FLOOR_DBFS = -120.0


def dbfs(amplitude: float) -> float:
    """Amplitude relative to full scale in decibels; silence maps to ``SILENCE_FLOOR_DBFS``."""
    if amplitude <= 0.0:
        return SILENCE_FLOOR_DBFS
    return max(SILENCE_FLOOR_DBFS, 20.0 * math.log10(amplitude))


@dataclass(frozen=True)
class BlockLevel:
    """Peak and RMS of one block (all channels together), for a level meter."""

    peak: float
    rms: float

    @property
    def peak_dbfs(self) -> float:
        return dbfs(self.peak)

    @property
    def rms_dbfs(self) -> float:
        return dbfs(self.rms)


def block_level(block: np.ndarray) -> BlockLevel:
    """Peak and RMS of a block of float samples of any shape; an empty block is silence."""
    if block.size == 0:
        return BlockLevel(0.0, 0.0)
    values = np.asarray(block, dtype=np.float32)
    peak = float(np.max(np.abs(values)))
    rms = float(np.sqrt(np.mean(np.square(values, dtype=np.float64))))
    return BlockLevel(peak, rms)


@dataclass(frozen=True)
class SignalStats:
    """Levels of a whole signal at its native rate (before resampling, which would smear clipping)."""

    frames: int
    channels: int
    peak: float
    rms: float
    clipped_runs: int
    full_scale_samples: int
    damaged_packets: int = 0

    @property
    def peak_dbfs(self) -> float:
        return dbfs(self.peak)

    @property
    def rms_dbfs(self) -> float:
        return dbfs(self.rms)


class SignalStatsAccumulator:
    """Collects ``SignalStats`` block by block; clipped runs that straddle two blocks count once."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._frames = 0
        self._peak = 0.0
        self._sum_squares = 0.0
        self._clipped_runs = 0
        self._full_scale = 0
        self._damaged = 0
        # Per channel: length of the full-scale run still open at the end of the last block, and its sign.
        self._open_run = np.zeros(channels, dtype=np.int64)
        self._open_sign = np.zeros(channels, dtype=np.int8)

    def add_damaged_packet(self) -> None:
        self._damaged += 1

    def add(self, block: np.ndarray) -> None:
        """Add a ``(channels, frames)`` float block."""
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected a ({self.channels}, frames) block, got shape {block.shape}")
        if block.shape[1] == 0:
            return
        self._frames += block.shape[1]
        self._peak = max(self._peak, float(np.max(np.abs(block))))
        self._sum_squares += float(np.sum(np.square(block, dtype=np.float64)))
        sign = np.where(block >= FULL_SCALE_THRESHOLD, 1, np.where(block <= -FULL_SCALE_THRESHOLD, -1, 0))
        self._full_scale += int(np.count_nonzero(sign))
        for channel in range(self.channels):
            self._count_runs(channel, sign[channel].astype(np.int8))

    def _count_runs(self, channel: int, sign: np.ndarray) -> None:
        """Count runs of equal non-zero sign of length >= CLIPPED_RUN_LENGTH, continuing the open run."""
        change = np.flatnonzero(np.diff(sign)) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [sign.size]))
        values = sign[starts]
        lengths = ends - starts
        if values[0] != 0 and values[0] == self._open_sign[channel]:
            lengths[0] += self._open_run[channel]
        elif self._open_run[channel] >= CLIPPED_RUN_LENGTH:
            self._clipped_runs += 1  # the run that was open ended right at the block border
        closed = slice(0, len(values) - 1)
        self._clipped_runs += int(np.count_nonzero((values[closed] != 0) & (lengths[closed] >= CLIPPED_RUN_LENGTH)))
        self._open_sign[channel] = values[-1]
        self._open_run[channel] = lengths[-1] if values[-1] != 0 else 0

    def result(self) -> SignalStats:
        open_runs = int(np.count_nonzero(self._open_run >= CLIPPED_RUN_LENGTH))
        samples = self._frames * self.channels
        rms = math.sqrt(self._sum_squares / samples) if samples else 0.0
        return SignalStats(
            frames=self._frames, channels=self.channels, peak=self._peak, rms=rms,
            clipped_runs=self._clipped_runs + open_runs, full_scale_samples=self._full_scale,
            damaged_packets=self._damaged,
        )
