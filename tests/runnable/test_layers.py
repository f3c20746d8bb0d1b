"""Layer normalization, the position-wise feed-forward network, and GELU."""

from __future__ import annotations

import numpy as np
import pytest
from tolerance import assert_close

from torch_copy import copy_into, layer_norm_pairs, randomize, torch_dtype

from runnable.layers import (
    Activation,
    LayerNormParams,
    feed_forward,
    gelu,
    gelu_tanh,
    init_feed_forward,
    init_layer_norm,
    layer_norm,
)


def test_layer_norm_zero_mean_unit_variance_per_position(rng, dtype):
    x = (rng.standard_normal((3, 5, 32)) * 4 + 7).astype(dtype)
    y = layer_norm(x, init_layer_norm(32, dtype))
    assert y.dtype == dtype
    # A sum of 32 values of size ~1; the mean of x (7) is removed with 32 eps of its size,
    # in units of the standard deviation (4): 32 * (1 + 7/4) eps, twice over for safety.
    assert_close(y.mean(axis=-1), np.zeros(y.shape[:-1]), dtype, roundoffs=2 * 32 * (1 + 7 / 4), scale=1.0)
    # Unit variance, shrunk by eps exactly as var / (var + eps).
    var = x.astype(np.float64).var(axis=-1)
    assert_close(y.var(axis=-1), var / (var + 1e-5), dtype, roundoffs=4 * 32)


def test_layer_norm_applies_gain_and_offset(rng):
    x = rng.standard_normal((2, 4, 6))
    p = LayerNormParams(gain=rng.standard_normal(6), bias=rng.standard_normal(6))
    plain = layer_norm(x, init_layer_norm(6))
    assert_close(layer_norm(x, p), plain * p.gain + p.bias)


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
    assert_close(feed_forward(x[:, perm], p), out[:, perm], dtype, label="permuted")
    expected = np.maximum(x[0, 0] @ p.w1 + p.b1, 0) @ p.w2 + p.b2
    assert_close(out[0, 0], expected, dtype)


def test_layer_norm_matches_torch(torch, rng, dtype):
    p = randomize(init_layer_norm(24, dtype), rng)
    x = (rng.standard_normal((3, 7, 24)) * 3 + 1).astype(dtype)
    ln = torch.nn.LayerNorm(24, eps=1e-5, dtype=torch_dtype(torch, dtype))
    copy_into(torch, layer_norm_pairs(p, ln))
    with torch.no_grad():
        theirs = ln(torch.from_numpy(x)).numpy()
    assert_close(layer_norm(x, p), theirs, dtype)


def test_gelu_is_x_times_the_normal_cdf_and_its_tanh_form_is_close(dtype):
    """GELU(x) = x Phi(x): Phi(0) = 1/2, Phi(1) = 0.8413447460685429; the tanh form is within 1e-3 of it."""
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0], dtype=dtype)
    phi_1 = 0.8413447460685429  # the standard normal CDF at 1 (tables; = (1 + erf(1/sqrt 2)) / 2)
    expected = np.array([-3 * (1 - 0.9986501019683699), -(1 - phi_1), 0.0, phi_1, 3 * 0.9986501019683699])
    y = gelu(x)
    assert y.dtype == gelu_tanh(x).dtype == dtype
    assert_close(y, expected, dtype, roundoffs=16)
    # Hendrycks & Gimpel's tanh form differs from x Phi(x) by well under 1e-3 here (about 2e-4 at |x| ~ 2).
    assert np.max(np.abs(gelu_tanh(x).astype(np.float64) - expected)) < 1e-3


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(torch, rng, dtype, approximate):
    x = (rng.standard_normal(200) * 3).astype(dtype)
    ours = gelu(x) if approximate == "none" else gelu_tanh(x)
    theirs = torch.nn.functional.gelu(torch.from_numpy(x), approximate=approximate).numpy()
    assert_close(ours, theirs, dtype)


def test_feed_forward_with_gelu_uses_it_between_the_layers(rng):
    p = init_feed_forward(4, 8, rng)
    x = rng.standard_normal((1, 3, 4))
    assert_close(feed_forward(x, p, Activation.GELU), gelu(x @ p.w1 + p.b1) @ p.w2 + p.b2)
    assert_close(feed_forward(x, p, "gelu_tanh"), gelu_tanh(x @ p.w1 + p.b1) @ p.w2 + p.b2)


def test_mixed_dtypes_are_refused(rng):
    x32 = rng.standard_normal((1, 2, 4)).astype(np.float32)
    with pytest.raises(TypeError, match="gain is float64 but x is float32"):
        layer_norm(x32, init_layer_norm(4))
    with pytest.raises(TypeError, match="w1 is float64 but x is float32"):
        feed_forward(x32, init_feed_forward(4, 8, rng))
