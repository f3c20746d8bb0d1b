"""The attention of ``runnable.attention``, rearranged for speed and memory: same results, less time.

Not part of the paper. ``runnable/attention.py`` computes eq. 1 the way it is
written; this module computes the same numbers (tested equal in
``tests/runnable/test_fast_attention.py``) with four changes that matter for
long sequences and several cores:

* **In-place softmax, deferred division.** The scores ``[B, h, T_q, T_k]`` are
  computed once into a fresh array and exponentiated in place, and the
  softmax's division is applied to the much smaller output ``[T_q, d_v]``
  instead of the weights: softmax(S) V = (exp(S - max) V) / rowsum(exp(S - max)).
  The peak is about one ``[T, T]`` matrix per head.
* **Query chunks.** ``chunk_size`` handles the queries a slice at a time; each
  query row's softmax needs only its own scores, so the result is the same and
  the peak falls to ``[chunk, T_k]`` per head.
* **Heads in threads.** Each head is independent (section 3.2.2), so
  ``workers`` threads can take a share of the (batch, head) blocks each.
* **Concat for free.** The heads write straight into a ``[B, T_q, h, d_k]``
  buffer, so "Concat" is a reshape, not a copy.

Select it in one place: the Transformer layers take ``attention=`` (default, the
readable ``multi_head_attention``); pass ``attention=fast(workers=2)``. The fast
version never holds the attention weights, so it returns ``None`` for them.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from runnable._common import check_dtypes, check_mask
from runnable.attention import AttentionFunction, AttentionParams, project_qkv
from runnable.blas import single_threaded_blas
from runnable.layers import linear


def _attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None, out: np.ndarray) -> None:
    """Eq. 1 for one block of queries, written into ``out``, with the softmax's division deferred.

    Everything happens in place on one fresh score array: scale, mask, shift by
    the row maximum, exponentiate, multiply by V, then divide the ``[T_q, d_v]``
    result by the row sums.
    """
    scale = 1.0 / math.sqrt(q.shape[-1])  # a Python float keeps float32 float32
    scores = (q * scale) @ np.swapaxes(k, -1, -2)  # [..., T_q, d_k] @ [..., d_k, T_k] -> [..., T_q, T_k]
    if mask is not None:
        np.copyto(scores, -np.inf, where=~mask)  # in place: no second [T, T] float matrix
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
    """``attention.scaled_dot_product_attention`` in place, ``chunk_size`` query rows at a time.

    ``out`` may be any array (or strided view) of the result's shape
    ``[..., T_q, d_v]``, e.g. a head-merging view.
    """
    dtype = check_dtypes(q=q, k=k, v=v)
    mask = check_mask(mask)
    if out is None:
        out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=dtype)
    t_q = q.shape[-2]
    step = t_q if chunk_size is None else max(1, int(chunk_size))
    for start in range(0, t_q, step):
        rows = slice(start, start + step)
        chunk_mask = None if mask is None else _take(mask, -2, rows)
        _attend(q[..., rows, :], k, v, chunk_mask, out[..., rows, :])
    return out


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

    The blocks are cut into ``workers`` contiguous slices along a batch or head
    axis, and each thread writes its slice of ``out``. The result is bit for bit
    the one-thread result, since every block runs the same operations.

    Why threads help: NumPy's element-wise steps (max, subtract, exp, sum) use
    one core, and OpenBLAS gains nothing from splitting one head's small
    ``[T, d_k]`` products; NumPy releases the GIL inside both, so Python
    threads run them side by side. OpenBLAS is held to one thread meanwhile
    (``blas.single_threaded_blas``), so there are never more busy threads than
    ``workers``; that setting is process-wide, so two such calls from different
    threads take turns. OpenBLAS's own idle threads busy-wait about 0.1 s after
    each multi-threaded product and would take a core from the workers: set
    ``OPENBLAS_THREAD_TIMEOUT=16`` before NumPy loads (as the bench does).
    Memory: the threads handle disjoint heads, so together they hold the same
    score matrices as one thread would.
    """
    dtype = check_dtypes(q=q, k=k, v=v)
    mask = check_mask(mask)
    if out is None:
        out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=dtype)
    axis, parts = _split_axis(out.shape[:-2], workers)
    if parts < 2:
        return scaled_dot_product_attention(q, k, v, mask, chunk_size=chunk_size, out=out)
    size = out.shape[axis]
    slices = [slice(i * size // parts, (i + 1) * size // parts) for i in range(parts)]

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


def _take(x: np.ndarray, axis: int, part: slice) -> np.ndarray:
    """``x[..., part, ...]`` on the negative ``axis``, unless ``x`` broadcasts there (absent or size 1)."""
    if x.ndim < -axis or x.shape[axis] == 1:
        return x
    index = (slice(None),) * (x.ndim + axis) + (part,)
    return x[index]


def multi_head_attention(
    x_q: np.ndarray,
    x_kv: np.ndarray,
    p: AttentionParams,
    n_heads: int,
    mask: np.ndarray | None = None,
    *,
    workers: int = 1,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, None]:
    """``attention.multi_head_attention`` without keeping the weights: ``(output [B, T_q, d], None)``.

    The heads write their outputs straight into a ``[B, T_q, h, d_k]`` buffer,
    so "Concat" is a free reshape. ``workers > 1`` shares the heads among that
    many threads (same result; see ``scaled_dot_product_attention_threaded``).
    """
    q, k, v = project_qkv(x_q, x_kv, p, n_heads)  # each [B, h, T, d_k]
    check_dtypes(x_q=x_q, w_o=p.w_o, b_o=p.b_o)
    b, t_q, d = x_q.shape
    heads = np.empty((b, t_q, n_heads, d // n_heads), dtype=x_q.dtype)  # [B, T_q, h, d_k]
    heads_view = heads.transpose(0, 2, 1, 3)  # [B, T_q, h, d_k] -> [B, h, T_q, d_k], a view
    scaled_dot_product_attention_threaded(q, k, v, mask, workers=workers, chunk_size=chunk_size, out=heads_view)
    return linear(heads.reshape(b, t_q, d), p.w_o, p.b_o), None  # Concat: [B, T_q, h, d_k] -> [B, T_q, d]; W^O


def fast(workers: int = 1, chunk_size: int | None = None) -> AttentionFunction:
    """The fast multi-head attention with its settings fixed, for a layer's ``attention=`` argument."""
    if workers < 1:
        raise ValueError(f"workers={workers}; use 1 (no threads) or more.")
    return functools.partial(multi_head_attention, workers=workers, chunk_size=chunk_size)
