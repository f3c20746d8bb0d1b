"""A decoder-only Transformer in GPT-2's layout: pre-LN blocks, GELU, learned positions, tied embeddings.

Radford, Narasimhan, Salimans & Sutskever, "Improving Language Understanding by
Generative Pre-Training" (2018), section 3.1, eq. 2: a language model is a stack
of Transformer decoder blocks (masked self-attention, no cross-attention) over

    h_0 = U W_e + W_p                    token embeddings plus position embeddings
    h_l = block(h_{l-1}),  l = 1..n
    P(u) = softmax(h_n W_e^T)            the output layer is the embedding, transposed

and is trained to maximise sum_i log P(u_i | u_{i-k}..u_{i-1}) (eq. 1): every
position predicts the next token, and the causal mask keeps it from seeing it.

Radford et al., "Language Models are Unsupervised Multitask Learners" (GPT-2,
2019), section 2.3, moved the layer norm to the input of each sub-block (pre-LN,
as in a pre-activation ResNet) and added one after the last block:

    x = x + Attention(LN_1(x))           each block, with a causal mask
    x = x + MLP(LN_2(x))                 MLP(x) = GELU(x W_1 + b_1) W_2 + b_2, d_ff = 4 d
    logits = LN_f(x) W_e^T

GELU is the tanh form GPT-2 uses (``layers.gelu_tanh``; Hendrycks & Gimpel 2016).
Position can be the learned table W_p (``Position.LEARNED``, GPT's) or, with no
table at all, rotary embeddings on the queries and keys (``Position.ROPE``,
``runnable.rope``) or linear biases on the scores (``Position.ALIBI``,
``runnable.alibi``).

Three entry points: ``gpt`` (inference, optionally with a key-value cache for
generating one token at a time, see ``KVCache`` and ``runnable.generate``);
``gpt_forward`` / ``gpt_backward`` (training: a cache of activations and the
hand-written backward pass, built from the pieces in ``runnable.backward``); and
``loss_and_grads``. Dropout is left out, as in the rest of ``runnable/``.
Shapes: B batch, T positions, d d_model, h heads, d_k = d / h, V vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from runnable import backward as bw
from runnable._common import check_dtypes, lookup
from runnable.alibi import alibi_bias
from runnable.attention import AttentionParams, attention_weights, causal_mask, merge_heads, project_qkv
from runnable.layers import (
    Activation,
    FeedForwardParams,
    LayerNormParams,
    feed_forward,
    init_layer_norm,
    layer_norm,
    linear,
)
from runnable.rope import rope_angles, rotate


class Position(str, Enum):
    """How the model knows where each token is."""

    LEARNED = "learned"  # a learned [context, d] table added to the embeddings (GPT, GPT-2)
    ROPE = "rope"  # rotary embeddings on queries and keys (Su et al. 2021)
    ALIBI = "alibi"  # linear biases on the attention scores (Press et al. 2022)


@dataclass(frozen=True)
class GPTConfig:
    """Sizes and switches. The defaults make a small model that trains on two cores in a minute."""

    vocab_size: int
    context: int = 64  # the longest sequence (the size of the learned position table)
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256  # 4 * d_model, as in GPT
    position: Position = Position.LEARNED
    activation: Activation = Activation.GELU_TANH
    eps: float = 1e-5  # layer-norm epsilon, nn.LayerNorm's default

    def __post_init__(self) -> None:
        """Fail here, with the fix, rather than deep in a forward pass."""
        object.__setattr__(self, "position", Position(self.position))
        object.__setattr__(self, "activation", Activation(self.activation))
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.position is Position.ROPE and (self.d_model // self.n_heads) % 2:
            raise ValueError(f"RoPE rotates pairs of coordinates: d_model / n_heads = "
                             f"{self.d_model // self.n_heads} must be even")
        for name in ("vocab_size", "context", "d_model", "n_heads", "n_layers", "d_ff"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}; it must be at least 1")


@dataclass
class BlockParams:
    """One pre-LN block: LN_1, causal self-attention, LN_2, MLP (GPT-2's ln_1, attn, ln_2, mlp)."""

    norm1: LayerNormParams
    attn: AttentionParams
    norm2: LayerNormParams
    mlp: FeedForwardParams


@dataclass
class GPTParams:
    """All weights. ``token_embed`` is both the input embedding and the output layer (tied)."""

    token_embed: np.ndarray  # [V, d], W_e
    position_embed: np.ndarray | None  # [context, d], W_p; None with RoPE or ALiBi
    blocks: list[BlockParams] = field(default_factory=list)
    final_norm: LayerNormParams | None = None  # LN_f


def init_gpt(cfg: GPTConfig, rng: np.random.Generator, dtype=np.float64) -> GPTParams:
    """GPT-2's initialisation: weights N(0, 0.02^2), biases 0, layer norms 1 and 0.

    The two projections that write into the residual stream (W^O and W_2) are
    scaled down by 1/sqrt(2 n_layers), GPT-2 section 2.3, so the sum of 2n
    residual branches starts at the scale of one.
    """
    d, std = cfg.d_model, 0.02
    residual_std = std / math.sqrt(2 * cfg.n_layers)

    def normal(shape, scale=std):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    blocks = [
        BlockParams(
            norm1=init_layer_norm(d, dtype),
            attn=AttentionParams(
                w_qkv=normal((d, 3 * d)), b_qkv=np.zeros(3 * d, dtype), w_o=normal((d, d), residual_std),
                b_o=np.zeros(d, dtype),
            ),
            norm2=init_layer_norm(d, dtype),
            mlp=FeedForwardParams(
                w1=normal((d, cfg.d_ff)), b1=np.zeros(cfg.d_ff, dtype), w2=normal((cfg.d_ff, d), residual_std),
                b2=np.zeros(d, dtype),
            ),
        )
        for _ in range(cfg.n_layers)
    ]
    return GPTParams(
        token_embed=normal((cfg.vocab_size, d)),
        position_embed=normal((cfg.context, d), 0.01) if cfg.position is Position.LEARNED else None,
        blocks=blocks,
        final_norm=init_layer_norm(d, dtype),
    )


def check_config(params: GPTParams, cfg: GPTConfig) -> None:
    """Raise if the weights do not have the sizes ``cfg`` states, so the config is true of the model."""
    found = {
        "vocab_size": params.token_embed.shape[0],
        "d_model": params.token_embed.shape[1],
        "n_layers": len(params.blocks),
        "d_ff": params.blocks[0].mlp.w1.shape[1] if params.blocks else cfg.d_ff,
    }
    wrong = [f"{name}={getattr(cfg, name)} but the weights have {value}" for name, value in found.items()
             if value != getattr(cfg, name)]
    has_table = params.position_embed is not None
    if has_table != (cfg.position is Position.LEARNED) or (has_table and params.position_embed.shape[0] != cfg.context):
        wrong.append(f"position={cfg.position.value} context={cfg.context} but the position table is "
                     f"{None if not has_table else params.position_embed.shape}")
    if wrong:
        raise ValueError(f"GPTConfig does not match the weights: {'; '.join(wrong)}. "
                         "Use the config the weights were made with (init_gpt(cfg, ...)).")


# ---------------------------------------------------------------------------
# The key-value cache (for generating one token at a time; see runnable.generate)
# ---------------------------------------------------------------------------


@dataclass
class LayerCache:
    """The keys and values one attention layer has computed so far, in preallocated buffers.

    Keys are stored after RoPE's rotation: a key's rotation depends only on its
    own position, so it never changes once computed.
    """

    keys: np.ndarray  # [B, h, capacity, d_k], filled up to `length`
    values: np.ndarray  # [B, h, capacity, d_k]
    length: int = 0

    def append(self, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Store this step's ``[B, h, T, d_k]`` keys and values; return all of them so far (views)."""
        check_dtypes(k=k, cache=self.keys)  # writing float64 keys into a float32 cache would round them silently
        if k.shape[:2] != self.keys.shape[:2] or k.shape[-1] != self.keys.shape[-1]:
            raise ValueError(f"keys of shape {k.shape} do not fit a cache of shape {self.keys.shape}; "
                             "make the cache for this batch and model (init_kv_cache)")
        end = self.length + k.shape[-2]
        if end > self.keys.shape[-2]:
            raise ValueError(f"the KV cache holds {self.keys.shape[-2]} positions; {end} needed. "
                             "Make it with a larger max_len (init_kv_cache).")
        self.keys[:, :, self.length : end] = k
        self.values[:, :, self.length : end] = v
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]  # [B, h, end, d_k] each


@dataclass
class KVCache:
    """One ``LayerCache`` per block; ``length`` positions have been processed."""

    layers: list[LayerCache]

    @property
    def length(self) -> int:
        return self.layers[0].length


def init_kv_cache(cfg: GPTConfig, batch: int, max_len: int, dtype=np.float64) -> KVCache:
    """An empty cache for ``batch`` sequences of up to ``max_len`` positions."""
    d_k = cfg.d_model // cfg.n_heads
    shape = (batch, cfg.n_heads, max_len, d_k)
    return KVCache([LayerCache(np.zeros(shape, dtype), np.zeros(shape, dtype)) for _ in range(cfg.n_layers)])


# ---------------------------------------------------------------------------
# Forward (inference)
# ---------------------------------------------------------------------------


def embed(tokens: np.ndarray, positions: np.ndarray, params: GPTParams, cfg: GPTConfig) -> np.ndarray:
    """h_0 = U W_e + W_p (eq. 2): ``[B, T]`` ids -> ``[B, T, d]``; no W_p with RoPE or ALiBi."""
    if np.ndim(tokens) != 2 or np.shape(tokens)[1] < 1:
        raise ValueError(f"tokens have shape {np.shape(tokens)}; expected [B, T] with T >= 1 (a batch of sequences)")
    x = lookup(params.token_embed, tokens)  # [B, T] -> [B, T, d]
    if cfg.position is Position.LEARNED:
        if positions[-1] >= cfg.context:
            raise ValueError(f"position {positions[-1]} is past the learned table of {cfg.context}; "
                             f"keep sequences to {cfg.context} tokens (or use Position.ROPE / ALIBI)")
        x = x + params.position_embed[positions]  # + [T, d], broadcast over the batch
    return x


def causal_self_attention(
    x: np.ndarray, p: AttentionParams, cfg: GPTConfig, positions: np.ndarray, cache: LayerCache | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Masked multi-head self-attention with the config's positions: ``[B, T, d]`` -> ``[B, T, d]``.

    ``positions`` ``[T]`` are the absolute positions of the rows of ``x``. With a
    ``cache``, the earlier keys and values are read from it and this step's are
    added, so ``x`` can be just the new tokens. Also returns the attention
    weights ``[B, h, T, T_k]``.
    """
    q, k, v = project_qkv(x, x, p, cfg.n_heads)  # each [B, h, T, d_k]
    if cfg.position is Position.ROPE:
        cos, sin = rope_angles(positions, q.shape[-1], x.dtype)  # [T, d_k / 2] each
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)  # R_m q, R_n k (Su et al. 2021, eq. 14)
    if cache is not None:
        k, v = cache.append(k, v)  # [B, h, T_k, d_k]: every key so far, this step's last
    t_q, t_k = q.shape[-2], k.shape[-2]
    bias = None
    if cfg.position is Position.ALIBI:
        key_positions = np.arange(positions[-1] + 1 - t_k, positions[-1] + 1)  # [T_k], the last one is the newest
        bias = alibi_bias(cfg.n_heads, positions, key_positions, x.dtype)  # [h, T, T_k]
    weights = attention_weights(q, k, causal_mask(t_q, t_k), bias)  # [B, h, T, T_k]
    heads = weights @ v  # [B, h, T, T_k] @ [B, h, T_k, d_k] -> [B, h, T, d_k]
    return linear(merge_heads(heads), p.w_o, p.b_o), weights  # [B, h, T, d_k] -> [B, T, d] -> W^O


def block(
    x: np.ndarray, p: BlockParams, cfg: GPTConfig, positions: np.ndarray, cache: LayerCache | None = None
) -> np.ndarray:
    """One pre-LN block (GPT-2 section 2.3): x + Attention(LN_1(x)), then x + MLP(LN_2(x))."""
    attended, _ = causal_self_attention(layer_norm(x, p.norm1, cfg.eps), p.attn, cfg, positions, cache)
    x = x + attended
    return x + feed_forward(layer_norm(x, p.norm2, cfg.eps), p.mlp, cfg.activation)


def gpt(tokens: np.ndarray, params: GPTParams, cfg: GPTConfig, cache: KVCache | None = None) -> np.ndarray:
    """Next-token logits at every position: ``[B, T]`` ids -> ``[B, T, V]``.

    With a ``cache``, ``tokens`` continue the sequences the cache has seen: they
    sit at positions ``cache.length .. cache.length + T - 1``, attend to every
    earlier token through the cached keys and values, and are added to the cache.
    """
    check_config(params, cfg)
    start = 0 if cache is None else cache.length
    positions = np.arange(start, start + tokens.shape[1])  # [T]
    x = embed(tokens, positions, params, cfg)  # [B, T] -> [B, T, d]
    for i, p in enumerate(params.blocks):
        x = block(x, p, cfg, positions, None if cache is None else cache.layers[i])
    x = layer_norm(x, params.final_norm, cfg.eps)
    return x @ params.token_embed.T  # tied output layer: [B, T, d] @ [d, V] -> [B, T, V]


# ---------------------------------------------------------------------------
# Forward with a cache of activations, and the backward pass (training)
# ---------------------------------------------------------------------------


def _position_options(cfg: GPTConfig, t: int, dtype) -> dict:
    """The RoPE angles or ALiBi bias for positions 0..t-1, as ``backward.multi_head_attention_forward`` takes them."""
    positions = np.arange(t)
    if cfg.position is Position.ROPE:
        return {"rotary": rope_angles(positions, cfg.d_model // cfg.n_heads, dtype)}
    if cfg.position is Position.ALIBI:
        return {"bias": alibi_bias(cfg.n_heads, positions, positions, dtype)}  # [h, T, T]
    return {}


def gpt_forward(tokens: np.ndarray, params: GPTParams, cfg: GPTConfig) -> tuple[np.ndarray, tuple]:
    """``gpt`` (logits ``[B, T, V]``) keeping what the backward pass needs."""
    check_config(params, cfg)
    t = tokens.shape[1]
    x = embed(tokens, np.arange(t), params, cfg)  # [B, T] -> [B, T, d]
    mask, options = causal_mask(t), _position_options(cfg, t, x.dtype)
    caches = []
    for p in params.blocks:
        x, c1 = bw.residual_forward(
            x, lambda h, p=p: bw.multi_head_attention_forward(h, h, p.attn, cfg.n_heads, mask, **options),
            p.norm1, True, cfg.eps,
        )
        x, c2 = bw.residual_forward(
            x, lambda h, p=p: bw.feed_forward_forward(h, p.mlp, cfg.activation), p.norm2, True, cfg.eps
        )
        caches.append((c1, c2))
    final, final_cache = bw.layer_norm_forward(x, params.final_norm, cfg.eps)
    logits = final @ params.token_embed.T  # [B, T, d] @ [d, V] -> [B, T, V]
    return logits, (tokens, params, cfg, caches, final, final_cache)


def gpt_backward(d_logits: np.ndarray, cache: tuple) -> GPTParams:
    """Gradients of every weight, from the output back to the embeddings.

    W_e is used twice, as the embedding and as the output layer, so its gradient
    is the sum of both: LN_f(x)^T-style product for the output, the scatter of
    d h_0 onto the rows of the tokens for the input. W_p's row t collects d h_0
    at position t, summed over the batch.
    """
    tokens, params, cfg, caches, final, final_cache = cache
    grad_output = bw.flat(d_logits).T @ bw.flat(final)  # [V, B*T] @ [B*T, d] -> [V, d]
    d_x, grad_final_norm = bw.layer_norm_backward(d_logits @ params.token_embed, final_cache)  # [B, T, V] -> [B, T, d]
    grads = []
    for c1, c2 in reversed(caches):
        d_x, grad_mlp, grad_norm2 = bw.residual_backward(d_x, c2, bw.feed_forward_backward)
        d_x, grad_attn, grad_norm1 = bw.residual_backward(d_x, c1, bw.self_attention_backward)
        grads.append(BlockParams(norm1=grad_norm1, attn=grad_attn, norm2=grad_norm2, mlp=grad_mlp))
    grad_position = None
    if params.position_embed is not None:
        grad_position = np.zeros_like(params.position_embed)  # [context, d]
        grad_position[: tokens.shape[1]] = d_x.sum(axis=0)  # [B, T, d] -> [T, d]
    return GPTParams(
        token_embed=grad_output + bw.embed_backward(d_x, tokens, params.token_embed.shape[0], scale=1.0),
        position_embed=grad_position,
        blocks=grads[::-1],
        final_norm=grad_final_norm,
    )


def loss_and_grads(
    tokens: np.ndarray, targets: np.ndarray, params: GPTParams, cfg: GPTConfig, ignore_index: int | None = -100
) -> tuple[np.floating, GPTParams]:
    """Mean cross-entropy of ``targets`` (usually ``tokens`` shifted left by one) and every gradient."""
    logits, cache = gpt_forward(tokens, params, cfg)
    loss, d_logits = bw.cross_entropy(logits, targets, ignore_index)
    return loss, gpt_backward(d_logits, cache)
