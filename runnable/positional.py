"""Sinusoidal positional encoding, Vaswani et al. "Attention Is All You Need" (2017), section 3.5.

Attention alone is blind to order: permuting the inputs permutes the outputs.
The paper adds to each embedding a vector that depends on its position:

    PE(pos, 2i)     = sin(pos / 10000^(2i / d_model))
    PE(pos, 2i + 1) = cos(pos / 10000^(2i / d_model))

Dimension pair i is a sinusoid of wavelength 2*pi * 10000^(2i / d_model), from
2*pi (i = 0) up to nearly 10000 * 2*pi. For any fixed offset k, PE(pos + k) is a
rotation of PE(pos) within each pair, which the authors hoped would let the
model attend by relative position.
"""

from __future__ import annotations

import numpy as np


def frequencies(d_model: int) -> np.ndarray:
    """Angular frequency 1 / 10000^(2i / d_model) of each sin/cos pair i, ``[d_model / 2]``."""
    if d_model % 2:
        raise ValueError(f"d_model={d_model} must be even: the encoding pairs a sine with a cosine.")
    two_i = np.arange(0, d_model, 2, dtype=np.float64)  # [d_model / 2]
    return 10000.0 ** (-two_i / d_model)


def sinusoidal_encoding(n_positions: int, d_model: int, dtype=np.float64) -> np.ndarray:
    """The ``[n_positions, d_model]`` matrix PE of section 3.5, in ``dtype``.

    Even columns hold sines and odd columns cosines of the same angle, so
    column 2i and 2i + 1 share frequency ``frequencies(d_model)[i]``. Computed in
    float64 and cast once, so float32 tables are the float64 ones rounded.
    """
    positions = np.arange(n_positions, dtype=np.float64)[:, None]  # [T] -> [T, 1]
    angles = positions * frequencies(d_model)[None, :]  # [T, 1] * [1, d/2] -> [T, d/2]
    pe = np.empty((n_positions, d_model), dtype=np.float64)  # [T, d]
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe.astype(dtype, copy=False)
