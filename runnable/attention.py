"""Scaled dot-product attention and multi-head attention, as the paper writes them.

Vaswani et al., "Attention Is All You Need" (2017), section 3.2:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V                  (eq. 1)
    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O
        where head_i   = Attention(Q W_i^Q, K W_i^K, V W_i^V)

Conventions used throughout ``runnable/``:

* Activations are batch first, ``[B, T, d_model]``; weights multiply from the
  right (``x @ w``, ``w`` is ``[d_in, d_out]``), as in picoGPT.
* A mask is boolean and ``True`` means "may attend", the convention of
  ``torch.nn.functional.scaled_dot_product_attention``. (``nn.MultiheadAttention``
  uses the opposite: there ``True`` means "masked out"; PyTorch's float masks add
  0 or -inf.) Any other dtype is refused with a message, never cast. A mask
  broadcasts against the scores ``[B, h, T_q, T_k]``, so masks combine with ``&``,
  e.g. ``causal_mask(T) & padding_mask(is_pad)``.
* A query row whose keys are all masked gets all-zero weights, so its output is
  zero, as in PyTorch's ``scaled_dot_product_attention`` (not NaN).

This file is the readable version, one short function per equation. The same
arithmetic, rearranged for speed and memory (heads in threads, queries in
chunks, the softmax in place), is ``runnable.fast_attention``, tested equal to
this one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runnable._common import check_dtypes, check_mask, softmax
from runnable.layers import linear

# ---------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------


def causal_mask(t_q: int, t_k: int | None = None) -> np.ndarray:
    """``[T_q, T_k]`` mask letting each query attend to its own position and earlier ones only.

    Section 3.2.3: the decoder must not look at later outputs, so the scores of
    illegal connections are set to -inf before the softmax. With ``t_k > t_q``
    the queries are the last ``t_q`` of ``t_k`` positions (decoding with a cache
    of earlier keys): query i sits at position ``t_k - t_q + i``.
    """
    t_k = t_q if t_k is None else t_k
    return np.tri(t_q, t_k, k=t_k - t_q, dtype=bool)  # [T_q, T_k], True on and below the diagonal


def padding_mask(is_pad: np.ndarray) -> np.ndarray:
    """Turn ``is_pad`` ``[B, T_k]`` (True at padding) into a ``[B, 1, 1, T_k]`` mask.

    Padding keys must receive no weight from any query in any head, hence the
    two broadcast axes for heads and queries.
    """
    keep = ~check_mask(is_pad, "is_pad")
    return keep[:, None, None, :]  # [B, T_k] -> [B, 1, 1, T_k]


# ---------------------------------------------------------------------------
# Scaled dot-product attention (section 3.2.1, eq. 1)
# ---------------------------------------------------------------------------


def attention_weights(
    q: np.ndarray, k: np.ndarray, mask: np.ndarray | None = None, bias: np.ndarray | None = None
) -> np.ndarray:
    """softmax(Q K^T / sqrt(d_k)) of eq. 1: ``[..., T_q, d_k]``, ``[..., T_k, d_k]`` -> ``[..., T_q, T_k]``.

    The 1/sqrt(d_k) factor keeps the dot products at unit variance for unit-
    variance inputs; without it the softmax saturates and its gradient vanishes.
    ``bias`` (float, broadcast to the scores) is added before the mask, as ALiBi
    does (Press et al. 2022; ``runnable.alibi``). Where ``mask`` is False the
    score becomes -inf, so its weight is exactly 0.
    """
    check_dtypes(q=q, k=k)
    mask = check_mask(mask)
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])  # [..., T_q, d_k] @ [..., d_k, T_k] -> [..., T_q, T_k]
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return softmax(scores)


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None, bias: np.ndarray | None = None
) -> np.ndarray:
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, Vaswani et al. 2017, eq. 1.

    ``q`` is ``[..., T_q, d_k]``, ``k`` is ``[..., T_k, d_k]``, ``v`` is
    ``[..., T_k, d_v]``; the result is ``[..., T_q, d_v]`` in the input dtype:
    each query's output is the average of the values, weighted by how well its
    key matches the query.
    """
    check_dtypes(q=q, v=v)
    return attention_weights(q, k, mask, bias) @ v  # [..., T_q, T_k] @ [..., T_k, d_v] -> [..., T_q, d_v]


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
    """Random weights drawn as ``nn.MultiheadAttention`` draws them.

    W^Q|W^K|W^V is Xavier-uniform over its ``[d, 3d]`` shape, limit
    sqrt(6 / (d + 3d)); W^O is an ``nn.Linear``, so uniform in +-1/sqrt(d);
    both biases start at zero.
    """
    limit = math.sqrt(6.0 / (d_model + 3 * d_model))
    limit_o = 1.0 / math.sqrt(d_model)
    return AttentionParams(
        w_qkv=rng.uniform(-limit, limit, (d_model, 3 * d_model)).astype(dtype),
        b_qkv=np.zeros(3 * d_model, dtype),
        w_o=rng.uniform(-limit_o, limit_o, (d_model, d_model)).astype(dtype),
        b_o=np.zeros(d_model, dtype),
    )


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """``[B, T, d_model]`` -> ``[B, h, T, d_k]`` as a view: reshape then swap axes, no copy."""
    b, t, d = x.shape
    if d % n_heads:
        raise ValueError(f"d_model={d} is not divisible by n_heads={n_heads}; choose n_heads dividing d_model.")
    return x.reshape(b, t, n_heads, d // n_heads).transpose(0, 2, 1, 3)  # [B, T, d] -> [B, h, T, d_k]


def merge_heads(x: np.ndarray) -> np.ndarray:
    """``[B, h, T, d_k]`` -> ``[B, T, h * d_k]``, the "Concat" of section 3.2.2."""
    b, h, t, d_k = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, t, h * d_k)  # [B, h, T, d_k] -> [B, T, h, d_k] -> [B, T, d]


def project_qkv(
    x_q: np.ndarray, x_kv: np.ndarray, p: AttentionParams, n_heads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q = x_q W^Q, K = x_kv W^K, V = x_kv W^V, each split into heads ``[B, h, T, d_k]``.

    For self-attention (``x_kv is x_q``) one ``[d, 3d]`` product does all three,
    as GPT-2's ``c_attn``.
    """
    check_dtypes(x_q=x_q, x_kv=x_kv, w_qkv=p.w_qkv, b_qkv=p.b_qkv)
    d = x_q.shape[-1]
    if x_kv is x_q:
        q, k, v = np.split(linear(x_q, p.w_qkv, p.b_qkv), 3, axis=-1)  # [B, T, d] -> [B, T, 3d] -> 3 x [B, T, d]
    else:
        q = linear(x_q, p.w_qkv[:, :d], p.b_qkv[:d])  # [B, T_q, d] -> [B, T_q, d]
        k, v = np.split(linear(x_kv, p.w_qkv[:, d:], p.b_qkv[d:]), 2, axis=-1)  # [B, T_k, d] -> 2 x [B, T_k, d]
    return split_heads(q, n_heads), split_heads(k, n_heads), split_heads(v, n_heads)


def multi_head_attention(
    x_q: np.ndarray, x_kv: np.ndarray, p: AttentionParams, n_heads: int, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MultiHead(Q, K, V) = Concat(head_1..head_h) W^O, Vaswani et al. 2017, section 3.2.2.

    ``x_q`` is ``[B, T_q, d_model]``, ``x_kv`` is ``[B, T_k, d_model]`` (pass the
    same array for self-attention). ``mask`` (True = may attend) broadcasts to
    ``[B, h, T_q, T_k]``. Returns the output ``[B, T_q, d_model]`` and each head's
    attention weights ``[B, h, T_q, T_k]``, as ``nn.MultiheadAttention`` does
    (there with ``average_attn_weights=False``).
    """
    q, k, v = project_qkv(x_q, x_kv, p, n_heads)  # each [B, h, T, d_k]
    check_dtypes(x_q=x_q, w_o=p.w_o, b_o=p.b_o)
    weights = attention_weights(q, k, mask)  # [B, h, T_q, T_k]
    heads = weights @ v  # [B, h, T_q, T_k] @ [B, h, T_k, d_k] -> [B, h, T_q, d_k]
    return linear(merge_heads(heads), p.w_o, p.b_o), weights  # Concat: -> [B, T_q, d]; then W^O


AttentionFunction = Callable[..., tuple[np.ndarray, "np.ndarray | None"]]
"""The signature of ``multi_head_attention``: ``(x_q, x_kv, p, n_heads, mask) -> (output, weights)``.

The Transformer layers take one as ``attention=``; ``runnable.fast_attention.fast``
makes the fast one, which returns ``None`` for the weights it never keeps."""
