"""Rotary position embeddings: the score depends only on the offset; rotary-embedding-torch and the
paper's block-diagonal matrix (Su et al. 2021, eq. 15), transcribed in PyTorch, as references."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerance import assert_close

from runnable.rope import rope_angles, rotate, rotate_backward

D_K = 16


def _rotated(x: np.ndarray, position: int) -> np.ndarray:
    cos, sin = rope_angles(np.array([position]), x.shape[-1], x.dtype)  # [1, d/2] each
    return rotate(x[None, :], cos, sin)[0]


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(0, 1024),
    n=st.integers(0, 1024),
    shift=st.integers(-1024, 1024),
)
def test_score_depends_only_on_the_offset(seed, m, n, shift):
    """q_m . k_n = q_{m+s} . k_{n+s} (eq. 16) for any positions and shift s.

    An angle p * theta (p <= 2048, theta <= 1) carries an absolute rounding error
    of at most p * eps, so each rotated coordinate is off by |x| (p + 2) eps and
    the dot product by |q| |k| (2 p_max + 8) eps: the bound below, in units of |q| |k|.
    """
    if min(m, n) + shift < 0:
        shift = -min(m, n)
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal(D_K), rng.standard_normal(D_K)
    score = _rotated(q, m) @ _rotated(k, n)
    shifted = _rotated(q, m + shift) @ _rotated(k, n + shift)
    p_max = max(m, n, m + shift, n + shift)
    assert_close(shifted, score, roundoffs=2 * p_max + 8, scale=np.linalg.norm(q) * np.linalg.norm(k))


def test_rotation_keeps_lengths_and_its_backward_is_its_transpose(rng, dtype):
    x = rng.standard_normal((2, 3, 7, D_K)).astype(dtype)
    y = rng.standard_normal(x.shape).astype(dtype)
    cos, sin = rope_angles(np.arange(7), D_K, dtype)
    rotated = rotate(x, cos, sin)
    assert rotated.dtype == dtype
    assert_close(np.linalg.norm(rotated, axis=-1), np.linalg.norm(x, axis=-1), dtype, roundoffs=8 * D_K)
    # <R x, y> = <x, R^T y>: the backward pass is the rotation by -angle.
    assert_close(np.sum(rotated * y), np.sum(x * rotate_backward(y, cos, sin)), dtype, roundoffs=8 * x.size,
                 scale=float(np.sum(np.abs(x) * np.abs(y))))
    assert_close(rotate_backward(rotated, cos, sin), x, dtype, roundoffs=16)


def test_position_zero_is_the_identity_and_the_first_pair_turns_by_one_radian_per_step(rng):
    x = rng.standard_normal(D_K)
    np.testing.assert_array_equal(_rotated(x, 0), x)
    turned = _rotated(np.eye(D_K)[0], 1)  # unit vector on coordinate 0; theta_1 = 10000^0 = 1
    assert_close(turned[:2], [np.cos(1.0), np.sin(1.0)], roundoffs=4)
    assert np.all(turned[2:] == 0)


def test_matches_the_papers_rotation_matrix_in_torch(torch, rng, dtype):
    """Eq. 15 written out: R_m is block-diagonal with blocks [[cos, -sin], [sin, cos]] of angle
    m * theta_i, theta_i = 10000^(-2(i-1)/d), i = 1..d/2; the rotated vector is R_m x."""
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    t = 9
    x = rng.standard_normal((t, D_K)).astype(dtype)
    i = torch.arange(1, D_K // 2 + 1, dtype=torch.float64)
    theta = 10000.0 ** (-2 * (i - 1) / D_K)
    expected = []
    for m in range(t):
        r = torch.zeros(D_K, D_K, dtype=torch.float64)
        for j, th in enumerate(theta):
            c, s = torch.cos(m * th), torch.sin(m * th)
            r[2 * j : 2 * j + 2, 2 * j : 2 * j + 2] = torch.stack([torch.stack([c, -s]), torch.stack([s, c])])
        expected.append(r.to(tdtype) @ torch.from_numpy(x[m]))
    cos, sin = rope_angles(np.arange(t), D_K, dtype)
    assert_close(rotate(x, cos, sin), torch.stack(expected).numpy(), dtype)


def test_matches_rotary_embedding_torch(torch, rotary_embedding_torch, rng, dtype):
    """The library rotates adjacent pairs, as the paper and we do; [B, h, T, d_k] layout.

    Its frequencies are float32 by default; for float64 the same formula is put in
    float64 (a float32 theta would differ by 1e-8 relative, far above float64 rounding).
    """
    t = 12
    rotary = rotary_embedding_torch.RotaryEmbedding(dim=D_K, cache_if_possible=False)
    if dtype == np.float64:
        with torch.no_grad():
            rotary.freqs.data = 1.0 / (10000 ** (torch.arange(0, D_K, 2, dtype=torch.float64) / D_K))
    q = rng.standard_normal((2, 3, t, D_K)).astype(dtype)
    theirs = rotary.rotate_queries_or_keys(torch.from_numpy(q)).numpy()
    cos, sin = rope_angles(np.arange(t), D_K, dtype)
    ours = rotate(q, cos, sin)
    assert ours.dtype == theirs.dtype == dtype
    assert_close(ours, theirs, dtype)
