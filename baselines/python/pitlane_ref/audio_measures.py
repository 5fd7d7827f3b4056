"""Signal measures of the audio nodes, with numpy, computed so that they equal pitlane's bit for bit.

pitlane sums squares in double precision over four interleaved lanes (samples 0, 4, 8, ... in the first; the
samples past the last whole group of four go to the first lane too), then adds the lanes in order; a channel's sum
over interleaved stereo is one sequential sum. numpy's ``sum`` adds pairwise, which rounds differently, so the sums
here are ``cumsum``s (numpy's running sum is sequential) over the same lanes. Squares of float32 samples are exact
in float64, so only the order of the additions matters. ``Math.log10`` comes from ``js_math`` (V8's algorithm).
"""

from __future__ import annotations

import math
from typing import Any, Tuple

import numpy as np

from .js_math import js_log10

SILENCE_FLOOR_DB = -120.0
"""RemoteMedia's level of silence: what a zero amplitude reads as, in dB."""


def amplitude_db(amplitude: float) -> float:
    """A linear amplitude in dBFS (20·log10), -120 for zero."""
    return 20 * js_log10(amplitude) if amplitude > 0 else SILENCE_FLOOR_DB


def _sequential_sum(values: Any) -> float:
    return float(np.cumsum(values)[-1]) if values.size else 0.0


def _lane_sums(squares: Any) -> float:
    n = squares.size
    whole = n - n % 4
    first = squares[0:whole:4]
    if whole < n:
        first = np.concatenate((first, squares[whole:]))
    total = _sequential_sum(first)
    for lane in (1, 2, 3):
        total += _sequential_sum(squares[lane:whole:4])
    return total


def squares_of(samples: Any) -> Any:
    """The squared samples, in float64 (exact)."""
    x = samples.astype(np.float64)
    return x * x


def sum_of_squares(samples: Any) -> float:
    """pitlane's ``sumOfSquares``."""
    return _lane_sums(squares_of(samples))


def measure_samples(samples: Any, threshold: float) -> Tuple[float, float, int]:
    """pitlane's ``measureSamples``: (sum of squares, peak magnitude, samples at or above ``threshold``)."""
    squares = squares_of(samples)
    if squares.size == 0:
        return 0.0, 0.0, 0
    t2 = threshold * threshold if threshold > 0 else 0.0
    count = int(np.count_nonzero(squares >= t2)) if t2 != math.inf else 0
    return _lane_sums(squares), math.sqrt(float(squares.max())), count


def rms_of(samples: Any) -> float:
    n = samples.size
    return math.sqrt(sum_of_squares(samples) / n) if n > 0 else 0.0


def channel_sums(samples: Any) -> Tuple[float, float]:
    """Sequential sums of squares of the left and right channels of interleaved stereo."""
    squares = squares_of(samples[: samples.size - samples.size % 2])
    return _sequential_sum(squares[0::2]), _sequential_sum(squares[1::2])
