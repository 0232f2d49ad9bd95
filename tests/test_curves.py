"""The 1D signals against their definitions: spectra, frequencies, edges, the recording; their source strings."""

import pathlib

import matplotlib
import numpy as np
import pytest

from nerf_toy_jax import curves


def test_tones_have_a_power_law_spectrum_up_to_the_holdout_nyquist():
    n = 256
    values = curves.tones(3, n)
    assert values.shape == (n, 1) and values.dtype == np.float32
    assert values.min() == 0.0 and values.max() == 1.0
    amplitude = np.abs(np.fft.rfft(values[:, 0].astype(np.float64)))
    freqs = np.arange(1, n // 4 + 1)
    # every tone present with amplitude proportional to 1 / f, nothing above n / 4
    np.testing.assert_allclose(amplitude[freqs] * freqs, amplitude[1], rtol=1e-4)
    assert amplitude[n // 4 + 1:].max() < 1e-4 * amplitude[1]
    np.testing.assert_array_equal(values, curves.tones(3, n))
    assert not np.allclose(values, curves.tones(4, n))


def test_the_chirp_speeds_up_to_an_eighth_of_the_samples():
    """Its frequency rises linearly from 1 to n / 8 cycles per unit: a window [a, b] holds the integral of
    1 + (n / 8 - 1) t cycles, two zero crossings each."""
    n = 2048
    values = curves.chirp(n)[:, 0] - 0.5
    crossings = np.flatnonzero(np.sign(values[1:]) != np.sign(values[:-1])) / n
    for a, b in ((0.0, 0.1), (0.45, 0.55), (0.9, 1.0)):
        cycles = (b - a) + (n / 8 - 1) * (b * b - a * a) / 2
        assert abs(np.sum((crossings >= a) & (crossings < b)) - 2 * cycles) <= 2, (a, b)


def test_the_square_wave_is_two_levels_with_its_edges_where_they_belong():
    values = curves.square(64, cycles=4)[:, 0]
    assert set(values.tolist()) == {0.0, 1.0}
    edges = np.flatnonzero(np.diff(values)) + 1
    np.testing.assert_array_equal(edges, [8, 16, 24, 32, 40, 48, 56])


def test_the_membrane_recording_is_matplotlibs_sample_data_scaled():
    recording = np.fromfile(pathlib.Path(matplotlib.get_data_path(), "sample_data", "membrane.dat"), np.float32)
    values = curves.membrane(recording.size)[:, 0]
    expected = (recording - recording.min()) / (recording.max() - recording.min())
    np.testing.assert_allclose(values, expected, atol=1e-6)
    pairs = recording.reshape(-1, 2).mean(axis=1)  # half the samples: each the mean of two
    np.testing.assert_allclose(curves.membrane(recording.size // 2)[:, 0],
                               (pairs - pairs.min()) / (pairs.max() - pairs.min()), atol=1e-6)


def test_sources():
    np.testing.assert_array_equal(curves.from_source("curve:tones:2", 64), curves.tones(2, 64))
    np.testing.assert_array_equal(curves.from_source("curve:square", 64), curves.square(64))
    assert curves.from_source("natural:astronaut", 64) is None and curves.from_source(None, 64) is None
    with pytest.raises(ValueError, match="curve:chirp takes no seed"):
        curves.from_source("curve:chirp:3", 64)
