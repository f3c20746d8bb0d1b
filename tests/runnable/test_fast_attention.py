"""The fast attention equals the readable one (in place, chunked, threaded), and holds less memory.

``runnable.fast_attention`` rearranges eq. 1 for speed; every test here compares
it with ``runnable.attention``, the version the site shows, or with itself on
one thread (bit for bit: the threads run the same operations on disjoint heads).
"""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest

from tolerance import assert_close

from torch_copy import randomize

from runnable import attention as readable
from runnable.attention import causal_mask, init_attention, padding_mask
from runnable.blas import get_blas_threads, set_blas_threads, single_threaded_blas
from runnable.fast_attention import (
    fast,
    multi_head_attention,
    scaled_dot_product_attention,
    scaled_dot_product_attention_threaded,
)
from runnable.transformer import (
    TransformerConfig,
    decoder_layer,
    encoder_layer,
    init_decoder_layer,
    init_encoder_layer,
)


def _qkv(rng, dtype, b, h, t_q=9, t_k=11, d_k=4, d_v=6):
    q = rng.standard_normal((b, h, t_q, d_k)).astype(dtype)
    k = rng.standard_normal((b, h, t_k, d_k)).astype(dtype)
    v = rng.standard_normal((b, h, t_k, d_v)).astype(dtype)
    return q, k, v


def _masks(rng, b, h, t_q, t_k):
    """No mask, causal, padding, and a per-head random mask with some fully masked rows."""
    random = rng.random((b, h, t_q, t_k)) > 0.4
    random[0, 0, 2] = False  # a fully masked query row
    random[-1, -1, -1] = False
    is_pad = np.zeros((b, t_k), dtype=bool)
    is_pad[0, 5:] = True
    return {
        "none": None,
        "causal": np.tri(t_q, t_k, dtype=bool),
        "padding": padding_mask(is_pad),
        "random with fully masked rows": random,
    }


def _assert_same(threaded, plain, dtype):
    """Bit-identical is what we expect; the stated tolerance is the contract."""
    assert threaded.dtype == plain.dtype == dtype
    assert_close(threaded, plain, dtype)
    assert np.array_equal(threaded, plain)


# --- the fast path equals the readable one ---------------------------------------------


@pytest.mark.parametrize("chunk_size", [None, 1, 3, 64])
def test_fast_scaled_dot_product_attention_equals_the_readable_one(rng, dtype, chunk_size):
    """Same arithmetic, reordered (division deferred, rows in chunks): equal within rounding."""
    q, k, v = _qkv(rng, dtype, 2, 3)
    for name, mask in _masks(rng, 2, 3, 9, 11).items():
        fast_out = scaled_dot_product_attention(q, k, v, mask, chunk_size=chunk_size)
        assert fast_out.dtype == dtype
        assert_close(fast_out, readable.scaled_dot_product_attention(q, k, v, mask), dtype, label=name)


@pytest.mark.parametrize("workers", [1, 2])
def test_fast_multi_head_attention_equals_the_readable_one(rng, dtype, workers):
    d_model, heads = 16, 4
    p = randomize(init_attention(d_model, rng, dtype), rng)
    x = rng.standard_normal((3, 7, d_model)).astype(dtype)
    memory = rng.standard_normal((3, 5, d_model)).astype(dtype)
    is_pad = np.zeros((3, 5), dtype=bool)
    is_pad[0, 3:] = True
    for x_kv, mask in ((x, causal_mask(7)), (memory, padding_mask(is_pad))):
        out, weights = multi_head_attention(x, x_kv, p, heads, mask, workers=workers)
        assert weights is None  # the fast path never holds the [T, T] weights
        assert_close(out, readable.multi_head_attention(x, x_kv, p, heads, mask)[0], dtype)


def test_layers_select_the_fast_attention_in_one_argument(rng, dtype):
    cfg = TransformerConfig(src_vocab=1, tgt_vocab=1, d_model=16, n_heads=4, d_ff=32)
    x = rng.standard_normal((3, 7, 16)).astype(dtype)
    memory = rng.standard_normal((3, 5, 16)).astype(dtype)
    enc = randomize(init_encoder_layer(cfg, rng, dtype), rng)
    assert_close(encoder_layer(x, enc, 4, attention=fast(workers=2)), encoder_layer(x, enc, 4), dtype)
    dec = randomize(init_decoder_layer(cfg, rng, dtype), rng)
    y_fast, weights = decoder_layer(x, memory, dec, 4, causal_mask(7), attention=fast(chunk_size=2))
    assert weights.self_attn is None and weights.cross_attn is None
    assert_close(y_fast, decoder_layer(x, memory, dec, 4, causal_mask(7))[0], dtype)


def test_fast_paths_refuse_a_float_mask_too(rng):
    q, k, v = _qkv(rng, np.float64, 2, 2, t_q=4, t_k=4)
    float_mask = np.triu(np.full((4, 4), -np.inf), k=1)  # PyTorch's generate_square_subsequent_mask
    x = rng.standard_normal((2, 4, 8))
    p = init_attention(8, rng)
    for call in (
        lambda: scaled_dot_product_attention(q, k, v, float_mask),
        lambda: scaled_dot_product_attention_threaded(q, k, v, float_mask, workers=2),
        lambda: multi_head_attention(x, x, p, 2, float_mask),
    ):
        with pytest.raises(TypeError, match="True means 'may attend'"):
            call()


def test_fast_paths_refuse_mixed_dtypes(rng):
    q, k, v = _qkv(rng, np.float32, 2, 2)
    with pytest.raises(TypeError, match="k is float64 but q is float32"):
        scaled_dot_product_attention(q, k.astype(np.float64), v)
    x = rng.standard_normal((2, 4, 8)).astype(np.float32)
    with pytest.raises(TypeError, match="x_kv is float64 but x_q is float32"):
        multi_head_attention(x, x.astype(np.float64), init_attention(8, rng, np.float32), 2)


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


# --- the threads ------------------------------------------------------------------------


@pytest.mark.parametrize("b, h", [(4, 3), (1, 8), (3, 1)], ids=["split-batch", "split-heads", "uneven-batch"])
@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("chunk_size", [None, 4])
def test_threaded_matches_plain(rng, dtype, b, h, workers, chunk_size):
    q, k, v = _qkv(rng, dtype, b, h)
    for name, mask in _masks(rng, b, h, 9, 11).items():
        plain = scaled_dot_product_attention(q, k, v, mask, chunk_size=chunk_size)
        threaded = scaled_dot_product_attention_threaded(q, k, v, mask, workers=workers, chunk_size=chunk_size)
        _assert_same(threaded, plain, dtype)
        if name == "random with fully masked rows":
            assert np.all(threaded[0, 0, 2] == 0) and np.all(np.isfinite(threaded))


def test_threaded_with_keys_broadcast_over_batch(rng, dtype):
    """k and v shared by every batch element (leading size 1) are not sliced, only broadcast."""
    q, k, v = _qkv(rng, dtype, 4, 2)
    k, v = k[:1], v[:1]
    plain = scaled_dot_product_attention(q, k, v, causal_mask(11)[:9])
    _assert_same(scaled_dot_product_attention_threaded(q, k, v, causal_mask(11)[:9], workers=2), plain, dtype)


def test_threaded_writes_into_a_strided_out(rng, dtype):
    """The head-merging view multi_head_attention passes as ``out`` is filled in place."""
    q, k, v = _qkv(rng, dtype, 2, 4, t_q=9, t_k=9, d_v=4)
    buffer = np.full((2, 9, 4, 4), np.nan, dtype=dtype)  # [B, T, h, d_k]
    result = scaled_dot_product_attention_threaded(q, k, v, workers=2, out=buffer.transpose(0, 2, 1, 3))
    assert np.shares_memory(result, buffer)
    _assert_same(buffer.transpose(0, 2, 1, 3), scaled_dot_product_attention(q, k, v), dtype)


def test_multi_head_and_encoder_layer_with_workers_match_one_thread(rng, dtype):
    d_model, heads = 16, 4
    x = rng.standard_normal((3, 7, d_model)).astype(dtype)
    memory = rng.standard_normal((3, 5, d_model)).astype(dtype)
    p = init_attention(d_model, rng, dtype)
    mask = causal_mask(7)
    _assert_same(
        multi_head_attention(x, x, p, heads, mask, workers=2)[0], multi_head_attention(x, x, p, heads, mask)[0], dtype
    )
    _assert_same(
        multi_head_attention(x, memory, p, heads, workers=2)[0], multi_head_attention(x, memory, p, heads)[0], dtype
    )
    cfg = TransformerConfig(src_vocab=1, tgt_vocab=1, d_model=d_model, n_heads=heads, d_ff=32)
    layer = init_encoder_layer(cfg, rng, dtype)
    _assert_same(
        encoder_layer(x, layer, heads, attention=fast(workers=2)), encoder_layer(x, layer, heads, attention=fast()), dtype
    )


def test_one_worker_or_nothing_to_split_falls_back_to_the_plain_path(rng):
    q, k, v = _qkv(rng, np.float64, 1, 1)
    plain = scaled_dot_product_attention(q, k, v)
    assert np.array_equal(scaled_dot_product_attention_threaded(q, k, v, workers=1), plain)
    assert np.array_equal(scaled_dot_product_attention_threaded(q, k, v, workers=4), plain)  # one block only
    assert np.array_equal(scaled_dot_product_attention_threaded(q[0, 0], k[0, 0], v[0, 0], workers=2), plain[0, 0])


def test_zero_workers_is_a_clear_error(rng):
    q, k, v = _qkv(rng, np.float64, 2, 2)
    with pytest.raises(ValueError, match="workers=0"):
        scaled_dot_product_attention_threaded(q, k, v, workers=0)


def test_an_error_in_a_worker_thread_reaches_the_caller(rng):
    q, k, v = _qkv(rng, np.float64, 2, 2)
    bad_mask = np.ones((2, 2, 9, 3), dtype=bool)  # T_k is 11: does not broadcast
    with pytest.raises(ValueError):
        scaled_dot_product_attention_threaded(q, k, v, bad_mask, workers=2)


def test_single_threaded_blas_restores_the_previous_count():
    if get_blas_threads() is None:
        pytest.skip("NumPy is not linked against a bundled OpenBLAS here")
    previous = get_blas_threads()
    try:
        set_blas_threads(2)
        with single_threaded_blas():
            assert get_blas_threads() == 1
        assert get_blas_threads() == 2
        with pytest.raises(RuntimeError), single_threaded_blas():
            raise RuntimeError("restored even on error")
        assert get_blas_threads() == 2
    finally:
        set_blas_threads(previous)


def test_overlapping_blocks_never_run_with_a_restored_count():
    """A block entered while another is open must not be left multi-threaded when the first exits."""
    if get_blas_threads() is None:
        pytest.skip("NumPy is not linked against a bundled OpenBLAS here")
    previous = get_blas_threads()
    first_inside, first_done = threading.Event(), threading.Event()
    seen: list[int | None] = []

    def first() -> None:
        with single_threaded_blas():
            first_inside.set()
            time.sleep(0.2)
        first_done.set()

    def second() -> None:
        first_inside.wait(5)
        with single_threaded_blas():
            first_done.wait(5)  # the first block has restored its count by now
            seen.append(get_blas_threads())

    try:
        set_blas_threads(2)
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert seen == [1]
        assert get_blas_threads() == 2
    finally:
        set_blas_threads(previous)


def test_threads_do_not_raise_peak_memory(rng):
    """Threads hold disjoint heads, so together no more than one [T, T] per head (1.5x bound, as unthreaded)."""
    h, t, d = 4, 384, 16
    q, k, v = (rng.standard_normal((1, h, t, d)).astype(np.float32) for _ in range(3))
    scores_bytes = h * t * t * 4
    for chunk, bound in ((None, 1.5 * scores_bytes), (64, 0.5 * scores_bytes)):
        tracemalloc.start()
        scaled_dot_product_attention_threaded(q, k, v, causal_mask(t), workers=2, chunk_size=chunk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak <= bound, f"chunk={chunk}: peak {peak} bytes > {bound:.0f}"
