"""1D signals made locally: tones with a power-law spectrum, a chirp, a square wave, and a real recording.

Every curve is float32 [n, 1] in [0, 1] (scaled from its minimum to its
maximum), sampled at ``t = i / n``, i < n, on one period of [0, 1). The same
name, seed and n always give the same samples. A curve is reachable as a
source string wherever a signal is taken: ``curve:tones:SEED``,
``curve:chirp``, ``curve:square``, ``curve:membrane``.
"""

import pathlib

import matplotlib
import numpy as np

from nerf_toy_jax import sources

NAMES = ("tones", "chirp", "square", "membrane")
DEFAULT_SAMPLES = 1024  # samples of a curve when no size is given
TONES_EXPONENT = 1.0  # amplitude of the tone of f cycles: f^-1 (a 1/f^2 power spectrum, like natural signals)
MEMBRANE_FILE = "membrane.dat"  # matplotlib's sample data: a membrane potential, 12000 float32 samples


def times(n):
    """Sample times ``i / n``, i < n: float64 [n] on [0, 1)."""
    return np.arange(n) / n


def normalized(values):
    """``values`` [n] scaled to [0, 1] by their minimum and maximum: float32 [n, 1]."""
    values = np.asarray(values, np.float64)
    return ((values - values.min()) / (values.max() - values.min())).astype(np.float32)[:, None]


def tones(seed, n):
    """Every whole frequency f = 1 .. n / 4 cycles (the Nyquist limit of a holdout training grid) with
    amplitude f^-1 and a phase drawn from ``seed``."""
    freqs = np.arange(1, n // 4 + 1)
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, freqs.size)
    t = times(n)[:, None]
    return normalized(np.sum(freqs ** -TONES_EXPONENT * np.sin(2 * np.pi * freqs * t + phases), axis=1))


def chirp(n):
    """A linear chirp: instantaneous frequency from 1 cycle per unit at t = 0 to n / 8 at t = 1."""
    t = times(n)
    return normalized(np.sin(2 * np.pi * (t + (n / 8 - 1) * t ** 2 / 2)))


def square(n, cycles=8):
    """A square wave of ``cycles`` periods, its edges between samples."""
    return normalized(np.where(np.floor(2 * cycles * (times(n) + 0.5 / n)) % 2 == 0, 1.0, 0.0))


def membrane(n):
    """matplotlib's membrane potential recording at ``n`` samples, each the mean of the recording over its
    interval (a box filter, so that fewer samples do not alias the recording's noise)."""
    recording = np.fromfile(pathlib.Path(matplotlib.get_data_path(), "sample_data", MEMBRANE_FILE), np.float32)
    recording = recording.astype(np.float64)
    total = np.concatenate([[0.0], np.cumsum(recording)])  # the integral at whole samples
    edges = np.arange(n + 1) * recording.size / n
    return normalized(np.diff(np.interp(edges, np.arange(recording.size + 1), total)) * n / recording.size)


def from_source(source, n):
    """The curve of a source string ``curve:NAME`` (``curve:tones:SEED``) with ``n`` samples, or None when
    ``source`` names no curve."""
    parsed = sources.parse(source, "curve", NAMES, seeded=("tones",))
    if parsed is None:
        return None
    if n < 4:
        raise ValueError(f"a curve needs at least 4 samples, got {n}")
    name, seed = parsed
    if name == "tones":
        return tones(seed, n)
    return {"chirp": chirp, "square": square, "membrane": membrane}[name](n)
