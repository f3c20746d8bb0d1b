"""Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5)."""

from __future__ import annotations

import numpy as np
import pytest

from runnable.positional import frequencies, sinusoidal_encoding


def test_shape_dtype_and_first_row(dtype):
    pe = sinusoidal_encoding(50, 16, dtype)
    assert pe.shape == (50, 16) and pe.dtype == dtype
    # Position 0: every sine is 0 and every cosine is 1.
    np.testing.assert_array_equal(pe[0, 0::2], 0)
    np.testing.assert_array_equal(pe[0, 1::2], 1)


def test_documented_frequencies():
    """Pair i has angular frequency 10000^(-2i/d): from 1 down to 1/10000^((d-2)/d)."""
    d = 8
    np.testing.assert_allclose(frequencies(d), [1.0, 10000**-0.25, 10000**-0.5, 10000**-0.75], rtol=1e-15)
    pe = sinusoidal_encoding(200, d)
    pos = np.arange(200)
    for i, w in enumerate(frequencies(d)):
        np.testing.assert_allclose(pe[:, 2 * i], np.sin(pos * w), atol=1e-12)
        np.testing.assert_allclose(pe[:, 2 * i + 1], np.cos(pos * w), atol=1e-12)


def test_each_column_pair_has_the_documented_wavelength():
    """Count zero crossings of each sine column: about 2 per wavelength 2*pi / freq."""
    d, n = 6, 20000
    pe = sinusoidal_encoding(n, d)
    for i, w in enumerate(frequencies(d)):
        crossings = np.count_nonzero(np.diff(np.signbit(pe[1:, 2 * i])))
        expected = (n - 1) * w / np.pi
        assert abs(crossings - expected) <= 1.5, (i, crossings, expected)


def test_a_fixed_offset_is_a_rotation_of_each_pair():
    """PE(pos + k) is PE(pos) rotated by angle k * w_i in each (sin, cos) pair, the same for every pos."""
    d, k = 10, 7
    pe = sinusoidal_encoding(60, d)
    for i, w in enumerate(frequencies(d)):
        c, s = np.cos(k * w), np.sin(k * w)
        sin_pos, cos_pos = pe[:-k, 2 * i], pe[:-k, 2 * i + 1]
        np.testing.assert_allclose(pe[k:, 2 * i], sin_pos * c + cos_pos * s, atol=1e-12)
        np.testing.assert_allclose(pe[k:, 2 * i + 1], cos_pos * c - sin_pos * s, atol=1e-12)


def test_positions_are_distinct_and_bounded():
    pe = sinusoidal_encoding(512, 64)
    assert np.all(np.abs(pe) <= 1)
    sq = np.sum(pe * pe, axis=1)
    distances_sq = sq[:, None] + sq[None, :] - 2 * pe @ pe.T  # |a - b|^2 without a [T, T, d] array
    assert np.all(distances_sq[~np.eye(512, dtype=bool)] > 1e-6)


def test_odd_d_model_is_a_clear_error():
    with pytest.raises(ValueError, match="even"):
        sinusoidal_encoding(4, 7)
