"""ALiBi: attention with linear biases, a penalty on the score growing with the distance.

Press, Smith & Lewis, "Train Short, Test Long: Attention with Linear Biases
Enables Input Length Extrapolation" (ICLR 2022), section 3. No position vector is
added anywhere; instead each head subtracts from the score between query i and
key j a penalty proportional to their distance:

    softmax(q_i K^T + m * [-(i-1), ..., -2, -1, 0])

so a causal head sees nearby keys at full strength and far ones damped. The
slope m is fixed per head, not learned: for n heads the geometric sequence
2^(-8/n), 2^(-16/n), ..., 2^(-8) (section 3), giving some heads a short reach and
others a long one. For a head count that is not a power of two, the authors'
code takes the slopes of the nearest lower power of two and fills up with every
other slope of the next power of two.

The bias is added to the scaled scores, Q K^T / sqrt(d_k) + bias, as in the
authors' implementation (it rides on the attention mask there).
"""

from __future__ import annotations

import math

import numpy as np


def alibi_slopes(n_heads: int) -> np.ndarray:
    """The head-specific slopes m, ``[h]``, largest first (Press et al. 2022, section 3)."""
    if n_heads < 1:
        raise ValueError(f"n_heads={n_heads}; ALiBi needs at least one head")

    def power_of_two(n: int) -> list[float]:
        return [2.0 ** (-8.0 * (i + 1) / n) for i in range(n)]  # 2^(-8/n), 2^(-16/n), ..., 2^(-8)

    closest = 2 ** math.floor(math.log2(n_heads))
    slopes = power_of_two(closest) + power_of_two(2 * closest)[0::2][: n_heads - closest]
    return np.array(slopes)  # [h]


def alibi_bias(n_heads: int, q_positions: np.ndarray, k_positions: np.ndarray, dtype=np.float64) -> np.ndarray:
    """The ``[h, T_q, T_k]`` bias -m_h * (i - j) for query position i and key position j.

    Keys after the query get a positive bias, which the causal mask removes anyway.
    """
    distance = np.asarray(q_positions)[:, None] - np.asarray(k_positions)[None, :]  # [T_q, 1] - [1, T_k] -> [T_q, T_k]
    bias = -alibi_slopes(n_heads)[:, None, None] * distance  # [h, 1, 1] * [T_q, T_k] -> [h, T_q, T_k]
    return bias.astype(dtype)
