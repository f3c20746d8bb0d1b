"""Scaled dot-product attention and multi-head attention.

Vaswani et al., "Attention Is All You Need" (2017), section 3.2:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V                  (eq. 1)
    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O
        where head_i   = Attention(Q W_i^Q, K W_i^K, V W_i^V)

Conventions used throughout ``runnable/``:

* Activations are batch first, ``[B, T, d_model]``; weights multiply from the
  right (``x @ w``, ``w`` is ``[d_in, d_out]``), as in picoGPT.
* A mask is boolean and ``True`` means "may attend", the convention of
  ``torch.nn.functional.scaled_dot_product_attention``. (``nn.MultiheadAttention``
  uses the opposite: there ``True`` means "masked out".) It broadcasts against
  the scores ``[B, h, T_q, T_k]``, so masks combine with ``&``, e.g.
  ``causal_mask(T) & padding_mask(is_pad)``.
* A query row whose keys are all masked gets all-zero weights, so its output is
  zero, as in PyTorch's ``scaled_dot_product_attention`` (not NaN).

Memory: the scores are computed once into a fresh ``[B, h, T_q, T_k]`` array
and the softmax works in place on it (its final division is applied to the
much smaller output instead), so the peak is about one ``[T, T]`` matrix per
head. ``chunk_size`` bounds it further by handling the queries in slices; each
query row's softmax only needs its own scores, so the result is the same.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from runnable._common import check_float, single_threaded_blas, softmax
from runnable.layers import linear

# ---------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------


def causal_mask(t: int) -> np.ndarray:
    """``[T, T]`` mask letting position i attend to positions 0..i only.

    Section 3.2.3: the decoder must not look at later outputs, so the scores
    of illegal connections are set to -inf before the softmax.
    """
    return np.tri(t, dtype=bool)  # [T, T], lower triangle True


def padding_mask(is_pad: np.ndarray) -> np.ndarray:
    """Turn ``is_pad`` ``[B, T_k]`` (True at padding) into a ``[B, 1, 1, T_k]`` mask.

    Padding keys must receive no weight from any query in any head, hence the
    two broadcast axes for heads and queries.
    """
    keep = ~np.asarray(is_pad, dtype=bool)
    return keep[:, None, None, :]  # [B, T_k] -> [B, 1, 1, T_k]


# ---------------------------------------------------------------------------
# Scaled dot-product attention (section 3.2.1, eq. 1)
# ---------------------------------------------------------------------------


def masked_scores(q: np.ndarray, k: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Q K^T / sqrt(d_k), with -inf where ``mask`` is False: the argument of the softmax in eq. 1.

    The 1/sqrt(d_k) factor keeps the dot products at unit variance for unit-
    variance inputs; without it the softmax saturates and its gradient vanishes.
    Scaling ``q`` ([T, d_k]) is cheaper than scaling the scores ([T, T]).
    """
    check_float("q", q)
    scale = 1.0 / math.sqrt(q.shape[-1])  # a Python float keeps float32 float32
    scores = (q * scale) @ np.swapaxes(k, -1, -2)  # [..., T_q, d_k] @ [..., d_k, T_k] -> [..., T_q, T_k]
    if mask is not None:
        # Written into the scores in place: no second [T, T] float matrix.
        np.copyto(scores, -np.inf, where=~mask)
    return scores


def attention_weights(q: np.ndarray, k: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """softmax(Q K^T / sqrt(d_k)) row by row (eq. 1), softmax in place on the scores."""
    scores = masked_scores(q, k, mask)  # [..., T_q, T_k]
    return softmax(scores, out=scores)


def _attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None, out: np.ndarray) -> None:
    """Eq. 1 for one block of queries, written into ``out``, with the softmax's division deferred.

    softmax(S) V = (exp(S - max) V) / rowsum(exp(S - max)): dividing the
    ``[T_q, d_v]`` result rather than the ``[T_q, T_k]`` weights saves a full
    pass over the largest array. Everything else happens in place on the scores.
    """
    scores = masked_scores(q, k, mask)  # [..., T_q, T_k]
    row_max = np.max(scores, axis=-1, keepdims=True)  # [..., T_q, T_k] -> [..., T_q, 1]
    row_max[np.isneginf(row_max)] = 0  # a fully masked row: exp(-inf - 0) = 0, not NaN
    scores -= row_max  # stability: the largest exponent is 0
    np.exp(scores, out=scores)
    np.matmul(scores, v, out=out)  # [..., T_q, T_k] @ [..., T_k, d_v] -> [..., T_q, d_v]
    total = np.sum(scores, axis=-1, keepdims=True)  # [..., T_q, T_k] -> [..., T_q, 1]
    total[total == 0] = 1  # a fully masked row gives 0 / 1 = 0, as PyTorch does
    out /= total


def scaled_dot_product_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    chunk_size: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, Vaswani et al. 2017, eq. 1.

    ``q`` is ``[..., T_q, d_k]``, ``k`` is ``[..., T_k, d_k]``, ``v`` is
    ``[..., T_k, d_v]``; the result is ``[..., T_q, d_v]`` in the input dtype.
    ``mask`` (True = may attend) broadcasts to ``[..., T_q, T_k]``. With
    ``chunk_size`` the queries are processed ``chunk_size`` rows at a time, which
    bounds the score matrix to ``[..., chunk_size, T_k]``: each row's softmax
    needs only its own scores, so the result is the same. ``out`` may be any
    array (or strided view) of the result's shape, e.g. a head-merging view.
    """
    if out is None:
        out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=np.result_type(q, v))
    t_q = q.shape[-2]
    step = t_q if chunk_size is None else max(1, int(chunk_size))
    for start in range(0, t_q, step):
        rows = slice(start, start + step)
        chunk_mask = None if mask is None else _mask_rows(mask, rows)
        _attend(q[..., rows, :], k, v, chunk_mask, out[..., rows, :])
    return out


# ---------------------------------------------------------------------------
# Optional: the heads in parallel threads
# ---------------------------------------------------------------------------


def scaled_dot_product_attention_threaded(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    workers: int = 1,
    chunk_size: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``scaled_dot_product_attention`` with the (batch, head) blocks shared among ``workers`` threads.

    Not part of the paper: a speed-up for machines with several cores. Each
    head's attention is independent of the others (section 3.2.2), so the
    blocks are cut into ``workers`` contiguous slices along a batch or head
    axis, and each thread writes its slice of ``out``. The result is bit for
    bit the one-thread result, since every block runs the same operations.

    Why threads help: NumPy's element-wise steps (max, subtract, exp, sum) use
    one core, and OpenBLAS gains nothing from splitting one head's small
    ``[T, d_k]`` products; NumPy releases the GIL inside both, so Python
    threads run them side by side. OpenBLAS is held to one thread meanwhile
    (see ``single_threaded_blas``), so there are never more busy threads than
    ``workers``; that setting is process-wide, so two such calls from different
    threads take turns. OpenBLAS's own idle threads busy-wait about 0.1 s after each
    multi-threaded product and would take a core from the workers: set
    ``OPENBLAS_THREAD_TIMEOUT=16`` before NumPy loads (as the bench does).
    Memory: the threads handle disjoint heads, so together they hold the same
    score matrices as one thread would.
    """
    if out is None:
        out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=np.result_type(q, v))
    axis, parts = _split_axis(out.shape[:-2], workers)
    if parts < 2:
        return scaled_dot_product_attention(q, k, v, mask, chunk_size=chunk_size, out=out)
    size = out.shape[axis]
    slices = [slice(i * size // parts, (i + 1) * size // parts) for i in range(parts)]
    mask = None if mask is None else np.asarray(mask, dtype=bool)

    def attend_slice(part: slice) -> None:
        take = [None if x is None else _take(x, axis, part) for x in (q, k, v, mask)]
        scaled_dot_product_attention(*take, chunk_size=chunk_size, out=_take(out, axis, part))

    with single_threaded_blas():
        pending = [_thread_pool(parts - 1).submit(attend_slice, part) for part in slices[1:]]
        attend_slice(slices[0])  # the calling thread takes the first slice itself
        for job in pending:
            job.result()  # re-raises an exception from the worker
    return out


def _split_axis(lead_shape: tuple[int, ...], workers: int) -> tuple[int, int]:
    """The (negative) leading axis to cut and into how many parts: the first axis with at
    least ``workers`` entries, else the longest one. ``(0, 1)`` means "do not split"."""
    if workers < 1:
        raise ValueError(f"workers={workers}; use 1 (no threads) or more.")
    if workers == 1 or not lead_shape:
        return 0, 1
    n = len(lead_shape)
    axis = next((i for i, size in enumerate(lead_shape) if size >= workers), int(np.argmax(lead_shape)))
    return axis - n - 2, min(workers, lead_shape[axis])  # counted from the end of [..., T_q, d_v]


@functools.cache
def _thread_pool(threads: int) -> ThreadPoolExecutor:
    """One lasting pool per size: starting threads on every call would cost more than small heads take."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="attention")


def _mask_rows(mask: np.ndarray, rows: slice) -> np.ndarray:
    """The query rows ``rows`` of a mask whose query axis may be broadcast (size 1)."""
    return _take(np.asarray(mask, dtype=bool), -2, rows)


def _take(x: np.ndarray, axis: int, part: slice) -> np.ndarray:
    """``x[..., part, ...]`` on the negative ``axis``, unless ``x`` broadcasts there (absent or size 1)."""
    if x.ndim < -axis or x.shape[axis] == 1:
        return x
    index = (slice(None),) * (x.ndim + axis) + (part,)
    return x[index]


# ---------------------------------------------------------------------------
# Multi-head attention (section 3.2.2)
# ---------------------------------------------------------------------------


@dataclass
class AttentionParams:
    """Weights of one multi-head attention block (Vaswani et al. 2017, section 3.2.2).

    The query, key and value projections of all heads sit side by side in one
    ``[d_model, 3 * d_model]`` matrix, so self-attention projects with a single
    matrix product; this is the transpose of ``nn.MultiheadAttention.in_proj_weight``.
    """

    w_qkv: np.ndarray  # [d_model, 3 * d_model]: W^Q | W^K | W^V, heads contiguous within each
    b_qkv: np.ndarray  # [3 * d_model]
    w_o: np.ndarray  # [d_model, d_model]: W^O
    b_o: np.ndarray  # [d_model]


def init_attention(d_model: int, rng: np.random.Generator, dtype=np.float64) -> AttentionParams:
    """Xavier-uniform projections and zero biases, as ``nn.MultiheadAttention`` starts."""
    limit = math.sqrt(6.0 / (d_model + 3 * d_model))
    limit_o = math.sqrt(6.0 / (2 * d_model))
    return AttentionParams(
        w_qkv=rng.uniform(-limit, limit, (d_model, 3 * d_model)).astype(dtype),
        b_qkv=np.zeros(3 * d_model, dtype),
        w_o=rng.uniform(-limit_o, limit_o, (d_model, d_model)).astype(dtype),
        b_o=np.zeros(d_model, dtype),
    )


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """``[B, T, d_model]`` -> ``[B, h, T, d_k]`` as a view: reshape then swap axes, no copy."""
    b, t, d = x.shape
    return x.reshape(b, t, n_heads, d // n_heads).transpose(0, 2, 1, 3)  # [B, T, d] -> [B, h, T, d_k]


def merge_heads(x: np.ndarray) -> np.ndarray:
    """``[B, h, T, d_k]`` -> ``[B, T, h * d_k]``, the "Concat" of section 3.2.2 (a copy)."""
    b, h, t, d_k = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, t, h * d_k)  # [B, h, T, d_k] -> [B, T, h, d_k] -> [B, T, d]


def project_qkv(
    x_q: np.ndarray, x_kv: np.ndarray, p: AttentionParams, n_heads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q = x_q W^Q, K = x_kv W^K, V = x_kv W^V, each split into heads (views).

    For self-attention (``x_kv is x_q``) one ``[d, 3d]`` product does all three.
    """
    d = x_q.shape[-1]
    if x_kv is x_q:
        qkv = linear(x_q, p.w_qkv, p.b_qkv)  # [B, T, d] -> [B, T, 3d]
        b, t, _ = qkv.shape
        # [B, T, 3d] -> [B, T, 3, h, d_k] -> [3, B, h, T, d_k], still a view of qkv
        q, k, v = qkv.reshape(b, t, 3, n_heads, d // n_heads).transpose(2, 0, 3, 1, 4)
        return q, k, v
    q = linear(x_q, p.w_qkv[:, :d], p.b_qkv[:d])  # [B, T_q, d] -> [B, T_q, d]
    kv = linear(x_kv, p.w_qkv[:, d:], p.b_qkv[d:])  # [B, T_k, d] -> [B, T_k, 2d]
    # [B, T_k, 2d] -> [B, T_k, 2, h, d_k] -> [2, B, h, T_k, d_k], a view of kv
    k, v = kv.reshape(kv.shape[0], kv.shape[1], 2, n_heads, d // n_heads).transpose(2, 0, 3, 1, 4)
    return split_heads(q, n_heads), k, v


def multi_head_attention(
    x_q: np.ndarray,
    x_kv: np.ndarray,
    p: AttentionParams,
    n_heads: int,
    mask: np.ndarray | None = None,
    *,
    chunk_size: int | None = None,
    workers: int = 1,
) -> np.ndarray:
    """MultiHead(Q, K, V) = Concat(head_1..head_h) W^O, Vaswani et al. 2017, section 3.2.2.

    ``x_q`` is ``[B, T_q, d_model]``, ``x_kv`` is ``[B, T_k, d_model]`` (pass the
    same array for self-attention). ``mask`` (True = may attend) broadcasts to
    ``[B, h, T_q, T_k]``. The heads write their outputs straight into a
    ``[B, T_q, h, d_k]`` buffer, so "Concat" is a free reshape, not a copy.
    ``workers > 1`` shares the heads among that many threads (same result; see
    ``scaled_dot_product_attention_threaded``).
    """
    check_float("x_q", x_q)
    b, t_q, d = x_q.shape
    if d % n_heads:
        raise ValueError(f"d_model={d} is not divisible by n_heads={n_heads}; choose n_heads dividing d_model.")
    q, k, v = project_qkv(x_q, x_kv, p, n_heads)  # each [B, h, T, d_k]
    heads = np.empty((b, t_q, n_heads, d // n_heads), dtype=x_q.dtype)  # [B, T_q, h, d_k]
    heads_view = heads.transpose(0, 2, 1, 3)  # [B, T_q, h, d_k] -> [B, h, T_q, d_k], a view
    if workers == 1:
        scaled_dot_product_attention(q, k, v, mask, chunk_size=chunk_size, out=heads_view)
    else:
        scaled_dot_product_attention_threaded(q, k, v, mask, workers=workers, chunk_size=chunk_size, out=heads_view)
    return linear(heads.reshape(b, t_q, d), p.w_o, p.b_o)  # Concat: [B, T_q, h, d_k] -> [B, T_q, d]; then W^O
