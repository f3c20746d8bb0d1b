"""Rotary position embedding (RoPE): position enters attention by rotating queries and keys.

Su, Lu, Pan, Murtadha, Wen & Liu, "RoFormer: Enhanced Transformer with Rotary
Position Embedding" (2021), section 3.2. Instead of adding a position vector to
the input (``runnable.positional``), RoPE rotates each query and key after its
projection, by an angle proportional to its position (eq. 14):

    f(x_m, m) = R_m W x_m

R_m is block-diagonal (eq. 15): it turns each pair of coordinates (x_{2i-1}, x_{2i})
by the angle m * theta_i, with theta_i = 10000^(-2(i-1)/d), i = 1..d/2 (the
frequencies of the sinusoidal encoding). Rotations compose by adding angles, and
R_m^T R_n = R_{n-m}, so the attention score (eq. 16)

    q_m^T k_n = (R_m W_q x_m)^T (R_n W_k x_n) = x_m^T W_q^T R_{n-m} W_k x_n

depends on the positions only through the offset n - m. Section 3.4.2 (eq. 34)
computes R_m x with element-wise products instead of a d x d matrix, as here.

The pairs are adjacent coordinates (0, 1), (2, 3), ..., as in the paper and in
``rotary-embedding-torch``; GPT-NeoX and LLaMA pair coordinate i with i + d/2
instead, which is the same idea with the coordinates permuted.
"""

from __future__ import annotations

import numpy as np

from runnable.positional import frequencies


def rope_angles(positions: np.ndarray, d_k: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """cos(m theta_i) and sin(m theta_i) for each position m and pair i: two ``[T, d_k / 2]`` tables.

    theta_i = 10000^(-2(i-1)/d_k) are the frequencies of ``positional.frequencies``.
    Computed in float64 and cast once, so float32 tables are the float64 ones rounded.
    """
    angles = np.asarray(positions, dtype=np.float64)[:, None] * frequencies(d_k)[None, :]  # [T, 1] * [1, d/2] -> [T, d/2]
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """R_m x (eq. 34): turn each pair (x_{2i}, x_{2i+1}) of ``x`` ``[..., T, d_k]`` by its angle.

    ``cos`` and ``sin`` are ``[T, d_k / 2]`` from ``rope_angles``. Each pair
    (a, b) becomes (a cos - b sin, a sin + b cos): a rotation, so lengths are kept.
    """
    even, odd = x[..., 0::2], x[..., 1::2]  # [..., T, d_k] -> 2 x [..., T, d_k / 2]
    out = np.empty_like(x)  # [..., T, d_k]
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def rotate_backward(d_out: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """dL/dx for out = R_m x: R_m^T d_out, the rotation by -m theta_i (R is orthogonal)."""
    return rotate(d_out, cos, -sin)
