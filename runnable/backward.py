"""Backward passes for every Transformer piece and the whole model, by hand.

Each piece comes as a pair, in the order of the forward modules:

* ``<piece>_forward(...) -> (output, cache)`` runs the same computation as the
  inference function in ``attention.py`` / ``layers.py`` / ``transformer.py``
  and keeps what the backward pass needs;
* ``<piece>_backward(d_output, cache) -> (d_input, grads)`` applies the chain
  rule; ``grads`` is a params dataclass of the same type as the weights, so an
  optimizer can walk weights and gradients side by side.

The derivatives are the standard ones (e.g. Goodfellow, Bengio & Courville,
"Deep Learning", 2016, section 6.5); each docstring gives the formula. They are
checked against central finite differences and PyTorch autograd in the tests.
Everything stays in the input dtype (float32 or float64).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from runnable._common import check_dtypes, check_float, check_tokens, log_softmax
from runnable.attention import (
    AttentionParams,
    attention_weights,
    causal_mask,
    merge_heads,
    padding_mask,
    project_qkv,
    split_heads,
)
from runnable.layers import (
    GELU_TANH_COEFF,
    Activation,
    FeedForwardParams,
    LayerNormParams,
    activate,
    linear,
    normal_cdf,
    normalize,
)
from runnable.rope import rotate, rotate_backward
from runnable.transformer import (
    DecoderLayerParams,
    EncoderLayerParams,
    TransformerConfig,
    TransformerParams,
    check_config,
    embed,
)


def flat(x: np.ndarray) -> np.ndarray:
    """``[B, T, d] -> [B * T, d]``: weight gradients sum over every position."""
    return x.reshape(-1, x.shape[-1])


# ---------------------------------------------------------------------------
# Softmax and scaled dot-product attention (Vaswani et al. 2017, eq. 1)
# ---------------------------------------------------------------------------


def softmax_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/dx for y = softmax(x) along the last axis: y * (dy - sum(dy * y)).

    The Jacobian diag(y) - y y^T applied without forming it. Masked entries
    have y = 0 and so receive no gradient.
    """
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))  # sum: [..., n] -> [..., 1]


def attention_forward(q, k, v, mask=None, bias=None):
    """softmax(Q K^T / sqrt(d_k) + bias) V (eq. 1), keeping the weights for the backward pass.

    ``bias`` (e.g. ALiBi's) is a constant: it changes the weights, not the formula of the gradient.
    """
    weights = attention_weights(q, k, mask, bias)  # [..., T_q, T_k]
    return weights @ v, (q, k, v, weights)  # [..., T_q, T_k] @ [..., T_k, d_v] -> [..., T_q, d_v]


def attention_backward(d_out, cache):
    """Gradients of eq. 1 with respect to Q, K and V.

    With A = softmax(S), S = Q K^T / sqrt(d_k), O = A V:
    dV = A^T dO, dA = dO V^T, dS = softmax'(dA), dQ = dS K / sqrt(d_k), dK = dS^T Q / sqrt(d_k).
    """
    q, k, v, weights = cache
    scale = 1.0 / math.sqrt(q.shape[-1])
    d_v = np.swapaxes(weights, -1, -2) @ d_out  # [..., T_k, T_q] @ [..., T_q, d_v] -> [..., T_k, d_v]
    d_weights = d_out @ np.swapaxes(v, -1, -2)  # [..., T_q, d_v] @ [..., d_v, T_k] -> [..., T_q, T_k]
    d_scores = softmax_backward(d_weights, weights)
    d_scores *= scale
    d_q = d_scores @ k  # [..., T_q, T_k] @ [..., T_k, d_k] -> [..., T_q, d_k]
    d_k = np.swapaxes(d_scores, -1, -2) @ q  # [..., T_k, T_q] @ [..., T_q, d_k] -> [..., T_k, d_k]
    return d_q, d_k, d_v


# ---------------------------------------------------------------------------
# Multi-head attention (section 3.2.2)
# ---------------------------------------------------------------------------


def multi_head_attention_forward(x_q, x_kv, p: AttentionParams, n_heads: int, mask=None, *, rotary=None, bias=None):
    """Multi-head attention as ``attention.multi_head_attention``, with a cache.

    Two options for the GPT's positions: ``rotary=(cos, sin)`` rotates queries and
    keys (RoPE, ``runnable.rope``; one table for both, so self-attention only),
    and ``bias`` is added to the scores (ALiBi, ``runnable.alibi``).
    """
    check_dtypes(x_q=x_q, w_o=p.w_o, b_o=p.b_o)
    q, k, v = project_qkv(x_q, x_kv, p, n_heads)  # each [B, h, T, d_k]
    if rotary is not None:
        q, k = rotate(q, *rotary), rotate(k, *rotary)  # R_m q_m, R_n k_n (Su et al. 2021, eq. 14)
    heads, attn_cache = attention_forward(q, k, v, mask, bias)  # [B, h, T_q, d_k]
    concat = merge_heads(heads)  # [B, h, T_q, d_k] -> [B, T_q, d]
    out = linear(concat, p.w_o, p.b_o)  # [B, T_q, d] -> [B, T_q, d]
    return out, (x_q, x_kv, p, n_heads, concat, attn_cache, rotary)


def multi_head_attention_backward(d_out, cache):
    """Returns ``(d_x_q, d_x_kv, grads)``; for self-attention add the two input gradients.

    Output projection: dW^O = Concat^T dO, db^O = sum dO. Input projections:
    dW = x^T d(projection) for the query columns (from x_q) and the key/value
    columns (from x_kv) of W_qkv.
    """
    x_q, x_kv, p, n_heads, concat, attn_cache, rotary = cache
    d = x_q.shape[-1]
    grad_w_o = flat(concat).T @ flat(d_out)  # [d, B*T] @ [B*T, d] -> [d, d]
    grad_b_o = flat(d_out).sum(axis=0)  # [B*T, d] -> [d]
    d_concat = d_out @ p.w_o.T  # [B, T_q, d] -> [B, T_q, d]
    d_q, d_k, d_v = attention_backward(split_heads(d_concat, n_heads), attn_cache)  # each [B, h, T, d_k]
    if rotary is not None:
        d_q, d_k = rotate_backward(d_q, *rotary), rotate_backward(d_k, *rotary)  # R^T: rotate back
    d_q = merge_heads(d_q)  # [B, h, T_q, d_k] -> [B, T_q, d]
    d_kv = np.concatenate([merge_heads(d_k), merge_heads(d_v)], axis=-1)  # -> [B, T_k, 2d]
    grads = AttentionParams(
        w_qkv=np.concatenate([flat(x_q).T @ flat(d_q), flat(x_kv).T @ flat(d_kv)], axis=1),  # [d, 3d]
        b_qkv=np.concatenate([flat(d_q).sum(axis=0), flat(d_kv).sum(axis=0)]),  # [3d]
        w_o=grad_w_o,
        b_o=grad_b_o,
    )
    d_x_q = d_q @ p.w_qkv[:, :d].T  # [B, T_q, d] @ [d, d] -> [B, T_q, d]
    d_x_kv = d_kv @ p.w_qkv[:, d:].T  # [B, T_k, 2d] @ [2d, d] -> [B, T_k, d]
    return d_x_q, d_x_kv, grads


def self_attention_backward(d_out, cache):
    """Self-attention reads one input twice (as queries and as keys/values): gradients add."""
    d_x_q, d_x_kv, grads = multi_head_attention_backward(d_out, cache)
    return d_x_q + d_x_kv, grads


# ---------------------------------------------------------------------------
# Layer norm and feed-forward (layers.py)
# ---------------------------------------------------------------------------


def layer_norm_forward(x, p: LayerNormParams, eps: float = 1e-5):
    """LN(x) = gain * x_hat + bias (Ba et al. 2016), keeping x_hat and 1/std."""
    check_dtypes(x=x, gain=p.gain, bias=p.bias)
    x_hat, inv_std = normalize(x, eps)
    return x_hat * p.gain + p.bias, (x_hat, inv_std, p)


def layer_norm_backward(d_y, cache):
    """dx = (1/std) * (g - mean(g) - x_hat * mean(g * x_hat)) with g = d_y * gain.

    The two mean terms are the gradient flowing back through the mean and the
    variance, both of which depend on every feature of the position.
    """
    x_hat, inv_std, p = cache
    grads = LayerNormParams(gain=flat(d_y * x_hat).sum(axis=0), bias=flat(d_y).sum(axis=0))  # [d]
    g = d_y * p.gain
    mean_g = g.mean(axis=-1, keepdims=True)  # [..., d] -> [..., 1]
    mean_gx = np.mean(g * x_hat, axis=-1, keepdims=True)  # [..., d] -> [..., 1]
    return inv_std * (g - mean_g - x_hat * mean_gx), grads


def activation_backward(d_hidden: np.ndarray, pre: np.ndarray, activation: Activation) -> np.ndarray:
    """dL/d(pre) for hidden = activation(pre) (``layers.activate``).

    ReLU: 1 where pre > 0, else 0. GELU x Phi(x): Phi(x) + x phi(x), phi the
    standard normal density. Tanh form 0.5 x (1 + tanh u), u = sqrt(2/pi)(x + c x^3):
    0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 c x^2).
    """
    activation = Activation(activation)
    if activation is Activation.RELU:
        return np.where(pre > 0, d_hidden, 0)
    if activation is Activation.GELU:
        density = np.exp(-0.5 * pre * pre) / math.sqrt(2 * math.pi)  # phi(x)
        return d_hidden * (normal_cdf(pre) + pre * density)
    root = math.sqrt(2 / math.pi)
    t = np.tanh(root * (pre + GELU_TANH_COEFF * pre * pre * pre))  # x * x * x: x**3 is a slow pow() call
    return d_hidden * (0.5 * (1 + t) + 0.5 * pre * (1 - t * t) * root * (1 + 3 * GELU_TANH_COEFF * pre * pre))


def feed_forward_forward(x, p: FeedForwardParams, activation: Activation = Activation.RELU):
    """FFN(x) = act(x W_1 + b_1) W_2 + b_2 (eq. 2), keeping the hidden pre-activation and activation."""
    check_dtypes(x=x, w1=p.w1, b1=p.b1, w2=p.w2, b2=p.b2)
    pre = linear(x, p.w1, p.b1)  # [B, T, d] -> [B, T, d_ff]
    hidden = activate(pre, activation)
    return linear(hidden, p.w2, p.b2), (x, pre, hidden, p, activation)  # [B, T, d_ff] -> [B, T, d]


def feed_forward_backward(d_out, cache):
    """dW_2 = h^T dO; dh = dO W_2^T times act'(pre); dW_1 = x^T dh; dx = dh W_1^T."""
    x, pre, hidden, p, activation = cache
    d_hidden = activation_backward(d_out @ p.w2.T, pre, activation)  # [B, T, d] -> [B, T, d_ff]
    grads = FeedForwardParams(
        w1=flat(x).T @ flat(d_hidden),  # [d, d_ff]
        b1=flat(d_hidden).sum(axis=0),
        w2=flat(hidden).T @ flat(d_out),  # [d_ff, d]
        b2=flat(d_out).sum(axis=0),
    )
    return d_hidden @ p.w1.T, grads  # [B, T, d_ff] -> [B, T, d]


# ---------------------------------------------------------------------------
# Residual sub-layers and the encoder / decoder layers (section 3.1)
# ---------------------------------------------------------------------------


def residual_forward(x, sublayer: Callable, norm: LayerNormParams, norm_first: bool, eps: float):
    """LN(x + f(x)) (post-norm) or x + f(LN(x)) (pre-norm); ``sublayer`` returns (f(x), cache)."""
    if norm_first:
        normed, ln_cache = layer_norm_forward(x, norm, eps)
        out, sub_cache = sublayer(normed)
        return x + out, (norm_first, ln_cache, sub_cache)
    out, sub_cache = sublayer(x)
    y, ln_cache = layer_norm_forward(x + out, norm, eps)
    return y, (norm_first, ln_cache, sub_cache)


def residual_backward(d_y, cache, sublayer_backward: Callable):
    """Backward of ``residual_forward``: the skip connection passes d_y straight through.

    Returns ``(d_x, sublayer_grads, norm_grads)``.
    """
    norm_first, ln_cache, sub_cache = cache
    if norm_first:
        d_normed, sub_grads = sublayer_backward(d_y, sub_cache)
        d_x, norm_grads = layer_norm_backward(d_normed, ln_cache)
        return d_y + d_x, sub_grads, norm_grads
    d_sum, norm_grads = layer_norm_backward(d_y, ln_cache)
    d_x, sub_grads = sublayer_backward(d_sum, sub_cache)
    return d_sum + d_x, sub_grads, norm_grads


def encoder_layer_forward(x, p: EncoderLayerParams, n_heads: int, mask=None, *, norm_first=False, eps=1e-5):
    """``transformer.encoder_layer`` with a cache."""
    x, c1 = residual_forward(
        x, lambda h: multi_head_attention_forward(h, h, p.self_attn, n_heads, mask), p.norm1, norm_first, eps
    )
    x, c2 = residual_forward(x, lambda h: feed_forward_forward(h, p.ff), p.norm2, norm_first, eps)
    return x, (c1, c2)


def encoder_layer_backward(d_x, cache):
    """Backward through the feed-forward sub-layer, then the self-attention sub-layer."""
    c1, c2 = cache
    d_x, g_ff, g_norm2 = residual_backward(d_x, c2, feed_forward_backward)
    d_x, g_attn, g_norm1 = residual_backward(d_x, c1, self_attention_backward)
    return d_x, EncoderLayerParams(self_attn=g_attn, norm1=g_norm1, ff=g_ff, norm2=g_norm2)


def _cross_attention_backward(d_out, cache):
    """Cross-attention as a sub-layer: the memory gradient rides along with the weights'."""
    d_y, d_memory, grads = multi_head_attention_backward(d_out, cache)
    return d_y, (grads, d_memory)


def decoder_layer_forward(
    y, memory, p: DecoderLayerParams, n_heads: int, self_mask=None, memory_mask=None, *, norm_first=False, eps=1e-5
):
    """``transformer.decoder_layer`` with a cache."""
    y, c1 = residual_forward(
        y, lambda h: multi_head_attention_forward(h, h, p.self_attn, n_heads, self_mask), p.norm1, norm_first, eps
    )
    y, c2 = residual_forward(
        y,
        lambda h: multi_head_attention_forward(h, memory, p.cross_attn, n_heads, memory_mask),
        p.norm2,
        norm_first,
        eps,
    )
    y, c3 = residual_forward(y, lambda h: feed_forward_forward(h, p.ff), p.norm3, norm_first, eps)
    return y, (c1, c2, c3)


def decoder_layer_backward(d_y, cache):
    """Returns ``(d_y, d_memory, grads)``; d_memory comes from the cross-attention keys and values."""
    c1, c2, c3 = cache
    d_y, g_ff, g_norm3 = residual_backward(d_y, c3, feed_forward_backward)
    d_y, (g_cross, d_memory), g_norm2 = residual_backward(d_y, c2, _cross_attention_backward)
    d_y, g_self, g_norm1 = residual_backward(d_y, c1, self_attention_backward)
    grads = DecoderLayerParams(
        self_attn=g_self, norm1=g_norm1, cross_attn=g_cross, norm2=g_norm2, ff=g_ff, norm3=g_norm3
    )
    return d_y, d_memory, grads


# ---------------------------------------------------------------------------
# Embeddings, loss, and the whole model (figure 1)
# ---------------------------------------------------------------------------


def embed_backward(d_x: np.ndarray, tokens: np.ndarray, vocab: int, scale: float | None = None) -> np.ndarray:
    """Gradient of an embedding table: each row collects ``scale`` * d_x at its tokens.

    ``scale`` is the factor the forward pass multiplied the rows by: sqrt(d_model)
    in the Transformer (section 3.4, the default), 1 in GPT. The position
    encodings are constants and get no gradient.
    """
    d = d_x.shape[-1]
    scale = math.sqrt(d) if scale is None else scale
    grad = np.zeros((vocab, d), dtype=d_x.dtype)  # [V, d]
    np.add.at(grad, tokens.reshape(-1), flat(d_x) * scale)  # scatter-add [B*T, d] into [V, d]
    return grad


def cross_entropy(logits: np.ndarray, targets: np.ndarray, ignore_index: int | None = -100):
    """Mean negative log-likelihood of ``targets`` and its gradient, softmax folded in.

    d loss / d logits = (softmax(logits) - one_hot(targets)) / N, the well-known
    simplification that avoids dividing by small probabilities. Positions whose
    target is ``ignore_index`` (padding; -100 by default, as in
    ``torch.nn.functional.cross_entropy``) count neither in the loss nor in N; if
    every position is ignored the loss is 0 (PyTorch gives NaN). Every other
    target must be a valid class id.
    """
    logits = check_float("logits", logits)
    targets = np.asarray(targets)
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets have shape {targets.shape} but logits {logits.shape}; expected {logits.shape[:-1]}")
    keep = np.ones(targets.shape, dtype=bool) if ignore_index is None else targets != ignore_index
    safe = check_tokens("targets", np.where(keep, targets, 0), logits.shape[-1])[..., None]  # ignored: class 0, weight 0
    n = max(int(keep.sum()), 1)
    log_probs = log_softmax(logits)  # [B, T, V]
    picked = np.take_along_axis(log_probs, safe, axis=-1)[..., 0]  # [B, T, V] -> [B, T]
    loss = -picked[keep].sum() / n
    d_logits = np.exp(log_probs)  # softmax, [B, T, V]
    np.put_along_axis(d_logits, safe, np.take_along_axis(d_logits, safe, -1) - 1, -1)
    d_logits *= (keep / n).astype(logits.dtype)[..., None]  # [B, T] -> [B, T, 1]
    return logits.dtype.type(loss), d_logits


def transformer_forward(src, tgt, params: TransformerParams, cfg: TransformerConfig, src_is_pad=None):
    """``transformer.transformer`` (logits ``[B, T_t, V]``) with a cache for the backward pass."""
    check_config(params, cfg)
    kwargs = {"norm_first": cfg.norm_first, "eps": cfg.eps}
    pad = None if src_is_pad is None else padding_mask(src_is_pad)  # [B, 1, 1, T_s]
    x = embed(src, params.src_embed)
    enc_caches = []
    for layer in params.encoder_layers:
        x, c = encoder_layer_forward(x, layer, cfg.n_heads, pad, **kwargs)
        enc_caches.append(c)
    memory, enc_norm_cache = layer_norm_forward(x, params.encoder_norm, cfg.eps)
    y = embed(tgt, params.tgt_embed)
    dec_caches = []
    for layer in params.decoder_layers:
        y, c = decoder_layer_forward(y, memory, layer, cfg.n_heads, causal_mask(tgt.shape[1]), pad, **kwargs)
        dec_caches.append(c)
    y, dec_norm_cache = layer_norm_forward(y, params.decoder_norm, cfg.eps)
    logits = linear(y, params.w_out, params.b_out)  # [B, T_t, d] -> [B, T_t, V]
    cache = (src, tgt, params, enc_caches, enc_norm_cache, dec_caches, dec_norm_cache, y)
    return logits, cache


def transformer_backward(d_logits, cache) -> TransformerParams:
    """Gradients of every weight, walking figure 1 from the output back to the embeddings.

    The encoder output (memory) feeds every decoder layer's cross-attention, so
    its gradient is the sum over decoder layers before it enters the encoder.
    """
    src, tgt, params, enc_caches, enc_norm_cache, dec_caches, dec_norm_cache, y = cache
    grad_w_out = flat(y).T @ flat(d_logits)  # [d, B*T] @ [B*T, V] -> [d, V]
    grad_b_out = flat(d_logits).sum(axis=0)  # [V]
    d_y, g_dec_norm = layer_norm_backward(d_logits @ params.w_out.T, dec_norm_cache)  # [B, T, V] -> [B, T, d]
    d_memory = 0
    g_dec = []
    for c in reversed(dec_caches):
        d_y, d_mem_layer, g = decoder_layer_backward(d_y, c)
        d_memory = d_memory + d_mem_layer
        g_dec.append(g)
    d_x, g_enc_norm = layer_norm_backward(d_memory, enc_norm_cache)
    g_enc = []
    for c in reversed(enc_caches):
        d_x, g = encoder_layer_backward(d_x, c)
        g_enc.append(g)
    return TransformerParams(
        src_embed=embed_backward(d_x, src, params.src_embed.shape[0]),
        tgt_embed=embed_backward(d_y, tgt, params.tgt_embed.shape[0]),
        encoder_layers=g_enc[::-1],
        encoder_norm=g_enc_norm,
        decoder_layers=g_dec[::-1],
        decoder_norm=g_dec_norm,
        w_out=grad_w_out,
        b_out=grad_b_out,
    )


def loss_and_grads(
    src,
    tgt_in,
    tgt_out,
    params: TransformerParams,
    cfg: TransformerConfig,
    src_is_pad=None,
    ignore_index: int | None = -100,
):
    """Teacher-forced cross-entropy of the model and the gradient of every weight."""
    logits, cache = transformer_forward(src, tgt_in, params, cfg, src_is_pad)
    loss, d_logits = cross_entropy(logits, tgt_out, ignore_index)
    return loss, transformer_backward(d_logits, cache)
