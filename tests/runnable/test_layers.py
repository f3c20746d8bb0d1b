"""Layer normalization and the position-wise feed-forward network."""

from __future__ import annotations

import numpy as np
from torch_copy import copy_into, layer_norm_pairs, randomize, torch_dtype

from runnable.layers import (
    LayerNormParams,
    feed_forward,
    init_feed_forward,
    init_layer_norm,
    layer_norm,
)


def test_layer_norm_zero_mean_unit_variance_per_position(rng, dtype):
    x = (rng.standard_normal((3, 5, 32)) * 4 + 7).astype(dtype)
    y = layer_norm(x, init_layer_norm(32, dtype))
    assert y.dtype == dtype
    atol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=atol)
    # Unit variance, shrunk by eps exactly as var / (var + eps).
    var = x.astype(np.float64).var(axis=-1)
    np.testing.assert_allclose(y.var(axis=-1), var / (var + 1e-5), rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1, atol=1e-5)


def test_layer_norm_applies_gain_and_offset(rng):
    x = rng.standard_normal((2, 4, 6))
    p = LayerNormParams(gain=rng.standard_normal(6), bias=rng.standard_normal(6))
    plain = layer_norm(x, init_layer_norm(6))
    np.testing.assert_allclose(layer_norm(x, p), plain * p.gain + p.bias, rtol=1e-13, atol=1e-13)


def test_layer_norm_of_a_constant_vector_is_the_offset():
    """eps keeps the zero-variance case finite: x_hat = 0, so the output is the bias."""
    p = LayerNormParams(gain=np.full(4, 3.0), bias=np.arange(4.0))
    np.testing.assert_array_equal(layer_norm(np.full((1, 1, 4), 5.0), p), np.arange(4.0)[None, None])


def test_feed_forward_is_position_wise(rng, dtype):
    """The same MLP at every position: shuffling positions shuffles outputs."""
    p = init_feed_forward(8, 16, rng, dtype)
    x = rng.standard_normal((2, 5, 8)).astype(dtype)
    out = feed_forward(x, p)
    assert out.dtype == dtype and out.shape == (2, 5, 8)
    perm = rng.permutation(5)
    np.testing.assert_allclose(feed_forward(x[:, perm], p), out[:, perm], rtol=1e-6)
    expected = np.maximum(x[0, 0] @ p.w1 + p.b1, 0) @ p.w2 + p.b2
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_layer_norm_matches_torch(torch, rng, dtype, tol, rel_error):
    p = randomize(init_layer_norm(24, dtype), rng)
    x = (rng.standard_normal((3, 7, 24)) * 3 + 1).astype(dtype)
    ln = torch.nn.LayerNorm(24, eps=1e-5, dtype=torch_dtype(torch, dtype))
    copy_into(torch, layer_norm_pairs(p, ln))
    with torch.no_grad():
        theirs = ln(torch.from_numpy(x)).numpy()
    assert rel_error(layer_norm(x, p), theirs) < tol
