"""Scaled dot-product and multi-head attention: properties, memory, and PyTorch parity."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
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
    assert_close(w.sum(axis=-1), np.ones(w.shape[:-1]), dtype, roundoffs=4 * w.shape[-1])  # n weights, each within a few eps: their sum within 4n eps of 1


def test_output_keeps_dtype(rng, dtype):
    """float32 in, float32 out: no silent promotion by 1/sqrt(d_k)."""
    q, k, v = _qkv(rng, dtype)
    assert scaled_dot_product_attention(q, k, v).dtype == dtype
    x = rng.standard_normal((2, 5, 8)).astype(dtype)
    assert multi_head_attention(x, x, _mha_params(rng, 8, dtype), 2, causal_mask(5)).dtype == dtype


def test_causal_mask_gives_future_zero_weight(rng):
    q, k, _ = _qkv(rng, np.float64, t_q=6, t_k=6)
    w = attention_weights(q, k, causal_mask(6))
    future = np.triu(np.ones((6, 6), dtype=bool), k=1)
    assert np.all(w[..., future] == 0)
    assert np.all(w[..., ~future] > 0)


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


def test_self_attention_without_positions_is_permutation_equivariant(rng):
    """Attention sees a set: permuting the tokens permutes the outputs, nothing else."""
    x = rng.standard_normal((2, 6, 8))
    p = _mha_params(rng, 8, np.float64)
    perm = rng.permutation(6)
    out = multi_head_attention(x, x, p, 2)
    x_perm = x[:, perm]
    assert_close(multi_head_attention(x_perm, x_perm, p, 2), out[:, perm], label="permuted")


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_query_chunks_give_the_same_result(rng, chunk):
    q, k, v = _qkv(rng, np.float64, t_q=7, t_k=7)
    for mask in (None, causal_mask(7), padding_mask(np.array([[0, 0, 0, 0, 1, 1, 1], [0] * 7], dtype=bool))):
        whole = scaled_dot_product_attention(q, k, v, mask)
        chunked = scaled_dot_product_attention(q, k, v, mask, chunk_size=chunk)
        # Same arithmetic; only the BLAS kernel (matrix-vector for one row) may round differently.
        assert_close(chunked, whole, label=f"chunk {chunk}")


def test_split_heads_is_a_view_and_merge_inverts_it(rng):
    x = rng.standard_normal((2, 5, 12))
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    assert np.shares_memory(heads, x)
    np.testing.assert_array_equal(merge_heads(heads), x)


def test_d_model_not_divisible_by_heads_is_a_clear_error(rng):
    x = rng.standard_normal((1, 3, 10))
    with pytest.raises(ValueError, match="divisible"):
        multi_head_attention(x, x, _mha_params(rng, 10, np.float64), 4)


def test_integer_input_is_rejected(rng):
    with pytest.raises(TypeError, match="float32 or float64"):
        attention_weights(np.ones((2, 3), dtype=np.int64), np.ones((2, 3), dtype=np.int64))


def test_peak_memory_near_one_score_matrix_per_head(rng):
    """In-place softmax: peak allocation stays under 1.5x the [h, T, T] scores (and far less chunked)."""
    h, t, d = 4, 384, 16
    q, k, v = (rng.standard_normal((1, h, t, d)).astype(np.float32) for _ in range(3))
    mask = causal_mask(t)
    scores_bytes = h * t * t * 4
    for chunk, bound in ((None, 1.5 * scores_bytes), (64, 0.5 * scores_bytes)):
        tracemalloc.start()
        scaled_dot_product_attention(q, k, v, mask, chunk_size=chunk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak <= bound, f"chunk={chunk}: peak {peak} bytes > {bound:.0f}"


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
def test_matches_torch_multihead_attention(torch, rng, dtype, kind):
    d_model, n_heads = 16, 4
    p = _mha_params(rng, d_model, dtype)
    x = rng.standard_normal((3, 5, d_model)).astype(dtype)
    mha = _torch_mha(torch, p, d_model, n_heads, dtype)
    tx = torch.from_numpy(x)
    if kind == "self-causal":
        ours = multi_head_attention(x, x, p, n_heads, causal_mask(5))
        # nn.MultiheadAttention's boolean masks mean "masked out": the opposite of ours.
        theirs, _ = mha(tx, tx, tx, attn_mask=torch.from_numpy(~causal_mask(5)), need_weights=False)
    else:
        memory = rng.standard_normal((3, 7, d_model)).astype(dtype)
        is_pad = np.zeros((3, 7), dtype=bool)
        is_pad[1, 5:] = True
        ours = multi_head_attention(x, memory, p, n_heads, padding_mask(is_pad))
        tm = torch.from_numpy(memory)
        theirs, _ = mha(tx, tm, tm, key_padding_mask=torch.from_numpy(is_pad), need_weights=False)
    assert ours.dtype == dtype
    assert_close(ours, theirs.detach().numpy(), dtype)
