"""Scaled dot-product and multi-head attention (the readable version): properties, checks, PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest
import tolerance
from tolerance import assert_close

from torch_copy import attention_pairs, copy_into, randomize, torch_dtype

from runnable.attention import (
    attention_weights,
    causal_mask,
    init_attention,
    merge_heads,
    multi_head_attention,
    padding_mask,
    scaled_dot_product_attention,
    split_heads,
)


def _qkv(rng, dtype, b=2, h=3, t_q=5, t_k=7, d=4):
    q = rng.standard_normal((b, h, t_q, d)).astype(dtype)
    k = rng.standard_normal((b, h, t_k, d)).astype(dtype)
    v = rng.standard_normal((b, h, t_k, d)).astype(dtype)
    return q, k, v


def _mha_params(rng, d_model, dtype):
    return randomize(init_attention(d_model, rng, dtype), rng)


# --- properties -------------------------------------------------------------


def test_weights_rows_sum_to_one_and_keep_dtype(rng, dtype):
    q, k, _ = _qkv(rng, dtype)
    w = attention_weights(q * 10, k)  # large scores: the stable softmax must not overflow
    assert w.dtype == dtype
    assert np.all(w >= 0)
    # n weights, each within a few eps: their sum within 4n eps of 1.
    assert_close(w.sum(axis=-1), np.ones(w.shape[:-1]), dtype, roundoffs=4 * w.shape[-1])


def test_output_is_the_weighted_average_of_the_values(rng, dtype):
    """Eq. 1 written out with explicit loops over one head: softmax of the scaled dot products."""
    q, k, v = _qkv(rng, dtype, b=1, h=1)
    out = scaled_dot_product_attention(q, k, v)
    assert out.dtype == dtype
    q64, k64, v64 = (a[0, 0].astype(np.float64) for a in (q, k, v))
    for i in range(q.shape[2]):
        scores = np.array([q64[i] @ k64[j] / np.sqrt(4) for j in range(k.shape[2])])
        w = np.exp(scores - scores.max())
        w /= w.sum()
        assert_close(out[0, 0, i], sum(w[j] * v64[j] for j in range(k.shape[2])), dtype, label=f"query {i}")


def test_causal_mask_gives_future_zero_weight(rng):
    q, k, _ = _qkv(rng, np.float64, t_q=6, t_k=6)
    w = attention_weights(q, k, causal_mask(6))
    future = np.triu(np.ones((6, 6), dtype=bool), k=1)
    assert np.all(w[..., future] == 0)
    assert np.all(w[..., ~future] > 0)


def test_causal_mask_for_queries_after_cached_keys():
    """The last T_q of T_k positions: query i sits at position T_k - T_q + i."""
    np.testing.assert_array_equal(causal_mask(2, 4), [[1, 1, 1, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(causal_mask(4)[-2:], causal_mask(2, 4))


def test_padding_keys_get_no_weight_and_their_values_do_not_matter(rng):
    q, k, v = _qkv(rng, np.float64)
    is_pad = np.zeros((2, 7), dtype=bool)
    is_pad[0, 4:] = True
    is_pad[1, 6] = True
    mask = padding_mask(is_pad)
    assert mask.shape == (2, 1, 1, 7)
    w = attention_weights(q, k, mask)
    assert np.all(w[0, ..., 4:] == 0) and np.all(w[1, ..., 6] == 0)
    out = scaled_dot_product_attention(q, k, v, mask)
    k2, v2 = k.copy(), v.copy()
    k2[0, :, 4:] = 1e3  # garbage in padding keys and values changes nothing
    v2[0, :, 4:] = -1e3
    np.testing.assert_array_equal(scaled_dot_product_attention(q, k2, v2, mask), out)


def test_fully_masked_row_gives_zeros_not_nan(rng, dtype):
    q, k, v = _qkv(rng, dtype)
    mask = np.ones((5, 7), dtype=bool)
    mask[2] = False
    out = scaled_dot_product_attention(q, k, v, mask)
    assert np.all(np.isfinite(out))
    assert np.all(out[..., 2, :] == 0)
    assert np.all(out[..., 1, :] != 0)


def test_bias_is_added_to_the_scaled_scores(rng):
    q, k, _ = _qkv(rng, np.float64)
    bias = rng.standard_normal((3, 5, 7))
    scores = q @ np.swapaxes(k, -1, -2) / 2.0 + bias  # d_k = 4
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    assert_close(attention_weights(q, k, bias=bias), expected)


def test_self_attention_without_positions_is_permutation_equivariant(rng):
    """Attention sees a set: permuting the tokens permutes the outputs, nothing else."""
    x = rng.standard_normal((2, 6, 8))
    p = _mha_params(rng, 8, np.float64)
    perm = rng.permutation(6)
    out, _ = multi_head_attention(x, x, p, 2)
    x_perm = x[:, perm]
    assert_close(multi_head_attention(x_perm, x_perm, p, 2)[0], out[:, perm], label="permuted")


def test_split_heads_is_a_view_and_merge_inverts_it(rng):
    x = rng.standard_normal((2, 5, 12))
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    assert np.shares_memory(heads, x)
    np.testing.assert_array_equal(merge_heads(heads), x)


# --- bad input: a clear error, never a silent wrong answer ------------------------------


def test_d_model_not_divisible_by_heads_is_a_clear_error(rng):
    x = rng.standard_normal((1, 3, 10))
    with pytest.raises(ValueError, match="divisible"):
        multi_head_attention(x, x, _mha_params(rng, 10, np.float64), 4)


def test_integer_input_is_rejected(rng):
    with pytest.raises(TypeError, match="float32 or float64"):
        attention_weights(np.ones((2, 3), dtype=np.int64), np.ones((2, 3), dtype=np.int64))


@pytest.mark.parametrize("mask_dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_a_non_boolean_mask_is_refused_with_our_convention(rng, mask_dtype):
    """PyTorch's 0/-inf causal mask cast to bool would read -inf as 'may attend': the future leaks."""
    q, k, v = _qkv(rng, np.float64, t_q=4, t_k=4)
    float_mask = np.triu(np.full((4, 4), -np.inf), k=1) if mask_dtype in (np.float32, np.float64) else np.tri(4)
    float_mask = float_mask.astype(mask_dtype)
    x = rng.standard_normal((2, 4, 8))
    p = _mha_params(rng, 8, np.float64)
    calls = {
        "attention_weights": lambda: attention_weights(q, k, float_mask),
        "scaled_dot_product_attention": lambda: scaled_dot_product_attention(q, k, v, float_mask),
        "multi_head_attention": lambda: multi_head_attention(x, x, p, 2, float_mask),
        "padding_mask": lambda: padding_mask(np.zeros((2, 4), dtype=mask_dtype)),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match="True means 'may attend'.*mask == 0"):
            call()


def test_float32_activations_with_float64_weights_are_refused(rng):
    """NumPy would silently compute in float64; every input of one call must share its dtype."""
    x32 = rng.standard_normal((2, 4, 8)).astype(np.float32)
    p64 = _mha_params(rng, 8, np.float64)
    with pytest.raises(TypeError, match="w_qkv is float64 but x_q is float32"):
        multi_head_attention(x32, x32, p64, 2)
    memory64 = rng.standard_normal((2, 5, 8))
    p32 = _mha_params(rng, 8, np.float32)
    with pytest.raises(TypeError, match="x_kv is float64 but x_q is float32"):
        multi_head_attention(x32, memory64, p32, 2)  # the cross-attention memory is checked too
    q, k, v = _qkv(rng, np.float32)
    with pytest.raises(TypeError, match="v is float64 but q is float32"):
        scaled_dot_product_attention(q, k, v.astype(np.float64))


def test_init_attention_draws_as_nn_multihead_attention(torch, rng):
    """W^Q|W^K|W^V Xavier-uniform, W^O as nn.Linear (+-1/sqrt(d)), biases zero, like PyTorch.

    For n uniform draws on [-a, a], P(max |w| < a (1 - delta)) = (1 - delta)^n:
    at n = 256^2 and delta = 1e-3 that is e^-65, so the largest |w| pins down a.
    """
    d = 256
    torch.manual_seed(tolerance.SEED)
    ours = init_attention(d, rng)
    theirs = torch.nn.MultiheadAttention(d, 8, dtype=torch.float64)
    limits = {"w_qkv": np.sqrt(6 / (d + 3 * d)), "w_o": 1 / np.sqrt(d)}
    for name, weight in (("w_qkv", theirs.in_proj_weight), ("w_o", theirs.out_proj.weight)):
        for who, w in (("ours", getattr(ours, name)), ("torch", weight.detach().numpy())):
            assert limits[name] * (1 - 1e-3) <= np.abs(w).max() <= limits[name], f"{who} {name}"
    assert not ours.b_qkv.any() and not ours.b_o.any()
    assert not theirs.in_proj_bias.detach().numpy().any() and not theirs.out_proj.bias.detach().numpy().any()


# --- parity with PyTorch --------------------------------------------------------


def test_matches_torch_scaled_dot_product_attention(torch, rng, dtype):
    q, k, v = _qkv(rng, dtype, t_q=6, t_k=6)
    mask = causal_mask(6) & padding_mask(np.array([[0, 0, 0, 0, 0, 1], [0] * 6], dtype=bool))
    mask = mask.copy()
    mask[0, 0, 3] = False  # one fully masked row too: zeros on both sides
    ours = scaled_dot_product_attention(q, k, v, mask)
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(mask))
    assert_close(ours, theirs.numpy(), dtype)


def _torch_mha(torch, p, d_model, n_heads, dtype):
    mha = torch.nn.MultiheadAttention(d_model, n_heads, dropout=0.0, batch_first=True, dtype=torch_dtype(torch, dtype))
    copy_into(torch, attention_pairs(p, mha))
    return mha.eval()


@pytest.mark.parametrize("kind", ["self-causal", "cross-padded"])
def test_matches_torch_multihead_attention_output_and_weights(torch, rng, dtype, kind):
    d_model, n_heads = 16, 4
    p = _mha_params(rng, d_model, dtype)
    x = rng.standard_normal((3, 5, d_model)).astype(dtype)
    mha = _torch_mha(torch, p, d_model, n_heads, dtype)
    tx = torch.from_numpy(x)
    options = {"need_weights": True, "average_attn_weights": False}
    if kind == "self-causal":
        ours, weights = multi_head_attention(x, x, p, n_heads, causal_mask(5))
        # nn.MultiheadAttention's boolean masks mean "masked out": the opposite of ours.
        theirs, their_weights = mha(tx, tx, tx, attn_mask=torch.from_numpy(~causal_mask(5)), **options)
    else:
        memory = rng.standard_normal((3, 7, d_model)).astype(dtype)
        is_pad = np.zeros((3, 7), dtype=bool)
        is_pad[1, 5:] = True
        ours, weights = multi_head_attention(x, memory, p, n_heads, padding_mask(is_pad))
        tm = torch.from_numpy(memory)
        theirs, their_weights = mha(tx, tm, tm, key_padding_mask=torch.from_numpy(is_pad), **options)
    assert ours.dtype == weights.dtype == dtype
    assert weights.shape == tuple(their_weights.shape)
    assert_close(ours, theirs.detach().numpy(), dtype, label="output")
    assert_close(weights, their_weights.detach().numpy(), dtype, label="weights")
