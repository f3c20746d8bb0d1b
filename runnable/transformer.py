"""The Transformer encoder-decoder, Vaswani et al., "Attention Is All You Need" (2017).

Section 3.1 and figure 1: an encoder stack of N layers (self-attention, then a
position-wise feed-forward network) and a decoder stack of N layers (masked
self-attention, attention over the encoder output, feed-forward). Every
sub-layer is wrapped in a residual connection and a layer norm:

* post-norm, as in the paper:  x = LayerNorm(x + Sublayer(x))
* pre-norm (``norm_first=True``, Xiong et al. 2020): x = x + Sublayer(LayerNorm(x)),
  which trains more easily without a long warm-up.

Like ``nn.Transformer`` (so weights copy across one to one), each stack ends in
one more layer norm, in both variants. Embeddings are scaled by sqrt(d_model)
and added to sinusoidal position encodings (sections 3.4, 3.5); a linear layer
maps the decoder output to vocabulary logits. Dropout is left out: this code is
for reading and for small experiments, and PyTorch parity is checked in eval mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from runnable._common import lookup
from runnable.attention import (
    AttentionFunction,
    AttentionParams,
    causal_mask,
    init_attention,
    multi_head_attention,
    padding_mask,
)
from runnable.layers import (
    FeedForwardParams,
    LayerNormParams,
    feed_forward,
    init_feed_forward,
    init_layer_norm,
    layer_norm,
    linear,
)
from runnable.positional import sinusoidal_encoding


@dataclass(frozen=True)
class TransformerConfig:
    """Sizes and switches; the defaults are the paper's base model (table 3).

    ``init_transformer`` builds weights of these sizes, and ``encode``/``decode``
    check that the weights they are given still have them (``check_config``).
    """

    src_vocab: int
    tgt_vocab: int
    d_model: int = 512
    n_heads: int = 8
    d_ff: int = 2048
    n_encoder_layers: int = 6
    n_decoder_layers: int = 6
    norm_first: bool = False  # False: post-norm as in the paper; True: pre-norm
    eps: float = 1e-5  # layer-norm epsilon, nn.LayerNorm's default


@dataclass
class EncoderLayerParams:
    """Self-attention and feed-forward sub-layers, each with its layer norm."""

    self_attn: AttentionParams
    norm1: LayerNormParams
    ff: FeedForwardParams
    norm2: LayerNormParams


@dataclass
class DecoderLayerParams:
    """Masked self-attention, cross-attention and feed-forward, each with its layer norm."""

    self_attn: AttentionParams
    norm1: LayerNormParams
    cross_attn: AttentionParams
    norm2: LayerNormParams
    ff: FeedForwardParams
    norm3: LayerNormParams


@dataclass
class TransformerParams:
    """All weights of the encoder-decoder model."""

    src_embed: np.ndarray  # [src_vocab, d_model]
    tgt_embed: np.ndarray  # [tgt_vocab, d_model]
    encoder_layers: list[EncoderLayerParams] = field(default_factory=list)
    encoder_norm: LayerNormParams | None = None
    decoder_layers: list[DecoderLayerParams] = field(default_factory=list)
    decoder_norm: LayerNormParams | None = None
    w_out: np.ndarray | None = None  # [d_model, tgt_vocab]
    b_out: np.ndarray | None = None  # [tgt_vocab]


# ---------------------------------------------------------------------------
# Initialization
# ---------------------------------------------------------------------------


def init_encoder_layer(cfg: TransformerConfig, rng: np.random.Generator, dtype=np.float64) -> EncoderLayerParams:
    """Fresh encoder-layer weights (PyTorch's default scheme)."""
    d = cfg.d_model
    return EncoderLayerParams(
        self_attn=init_attention(d, rng, dtype),
        norm1=init_layer_norm(d, dtype),
        ff=init_feed_forward(d, cfg.d_ff, rng, dtype),
        norm2=init_layer_norm(d, dtype),
    )


def init_decoder_layer(cfg: TransformerConfig, rng: np.random.Generator, dtype=np.float64) -> DecoderLayerParams:
    """Fresh decoder-layer weights (PyTorch's default scheme)."""
    d = cfg.d_model
    return DecoderLayerParams(
        self_attn=init_attention(d, rng, dtype),
        norm1=init_layer_norm(d, dtype),
        cross_attn=init_attention(d, rng, dtype),
        norm2=init_layer_norm(d, dtype),
        ff=init_feed_forward(d, cfg.d_ff, rng, dtype),
        norm3=init_layer_norm(d, dtype),
    )


def init_transformer(cfg: TransformerConfig, rng: np.random.Generator, dtype=np.float64) -> TransformerParams:
    """A freshly initialized model.

    Embeddings are N(0, 1/d_model), so after the sqrt(d_model) scaling of
    section 3.4 they have unit variance, on the scale of the position encodings.
    """
    d = cfg.d_model
    std = 1 / math.sqrt(d)
    return TransformerParams(
        src_embed=(rng.standard_normal((cfg.src_vocab, d)) * std).astype(dtype),
        tgt_embed=(rng.standard_normal((cfg.tgt_vocab, d)) * std).astype(dtype),
        encoder_layers=[init_encoder_layer(cfg, rng, dtype) for _ in range(cfg.n_encoder_layers)],
        encoder_norm=init_layer_norm(d, dtype),
        decoder_layers=[init_decoder_layer(cfg, rng, dtype) for _ in range(cfg.n_decoder_layers)],
        decoder_norm=init_layer_norm(d, dtype),
        w_out=rng.uniform(-std, std, (d, cfg.tgt_vocab)).astype(dtype),
        b_out=np.zeros(cfg.tgt_vocab, dtype),
    )


# ---------------------------------------------------------------------------
# The configuration is true of the weights
# ---------------------------------------------------------------------------


def check_config(params: TransformerParams, cfg: TransformerConfig) -> None:
    """Raise if ``params`` do not have the sizes ``cfg`` states (vocabularies, d_model, d_ff, layers).

    The forward pass reads the sizes from the arrays; this check keeps the
    config from saying something else, e.g. weights of one model run with the
    config of another.
    """
    found = {
        "src_vocab": params.src_embed.shape[0],
        "tgt_vocab": params.tgt_embed.shape[0],
        "d_model": params.src_embed.shape[1],
        "n_encoder_layers": len(params.encoder_layers),
        "n_decoder_layers": len(params.decoder_layers),
    }
    d_ffs = {layer.ff.w1.shape[1] for layer in params.encoder_layers + params.decoder_layers}
    if d_ffs:
        found["d_ff"] = d_ffs.pop() if len(d_ffs) == 1 else tuple(sorted(d_ffs))
    wrong = [f"{name}={getattr(cfg, name)} but the weights have {value}" for name, value in found.items()
             if value != getattr(cfg, name)]
    if wrong:
        raise ValueError(f"TransformerConfig does not match the weights: {'; '.join(wrong)}. "
                         "Use the config the weights were made with (init_transformer(cfg, ...)).")
    if cfg.d_model % cfg.n_heads:
        raise ValueError(f"d_model={cfg.d_model} is not divisible by n_heads={cfg.n_heads}")


# ---------------------------------------------------------------------------
# Layers (section 3.1)
# ---------------------------------------------------------------------------


def sublayer_input(x: np.ndarray, norm: LayerNormParams, norm_first: bool, eps: float) -> np.ndarray:
    """What a sub-layer reads: LN(x) in pre-norm, x itself in post-norm."""
    return layer_norm(x, norm, eps) if norm_first else x


def residual(x: np.ndarray, out: np.ndarray, norm: LayerNormParams, norm_first: bool, eps: float) -> np.ndarray:
    """Close a sub-layer with its residual connection: x + out (pre-norm) or LN(x + out) (post-norm)."""
    return x + out if norm_first else layer_norm(x + out, norm, eps)


@dataclass
class DecoderAttention:
    """The attention weights of one decoder layer; ``None`` where the attention function keeps none."""

    self_attn: np.ndarray | None  # [B, h, T_t, T_t], causal: zero above the diagonal
    cross_attn: np.ndarray | None  # [B, h, T_t, T_s]: where each target position looks in the source


def encoder_layer(
    x: np.ndarray,
    p: EncoderLayerParams,
    n_heads: int,
    mask: np.ndarray | None = None,
    *,
    norm_first: bool = False,
    eps: float = 1e-5,
    attention: AttentionFunction = multi_head_attention,
) -> np.ndarray:
    """One encoder layer, section 3.1: self-attention, then feed-forward. ``[B, T, d] -> [B, T, d]``.

    ``mask`` (True = may attend) usually hides the source padding. ``attention``
    selects the implementation: the readable one, or ``fast_attention.fast(...)``.
    """
    h = sublayer_input(x, p.norm1, norm_first, eps)
    out, _ = attention(h, h, p.self_attn, n_heads, mask)
    x = residual(x, out, p.norm1, norm_first, eps)
    h = sublayer_input(x, p.norm2, norm_first, eps)
    return residual(x, feed_forward(h, p.ff), p.norm2, norm_first, eps)


def decoder_layer(
    y: np.ndarray,
    memory: np.ndarray,
    p: DecoderLayerParams,
    n_heads: int,
    self_mask: np.ndarray | None = None,
    memory_mask: np.ndarray | None = None,
    *,
    norm_first: bool = False,
    eps: float = 1e-5,
    attention: AttentionFunction = multi_head_attention,
) -> tuple[np.ndarray, DecoderAttention]:
    """One decoder layer, section 3.1. ``y`` is ``[B, T_t, d]``, ``memory`` ``[B, T_s, d]``.

    Masked self-attention (``self_mask``, normally causal, keeps position i from
    seeing outputs after i), then attention whose queries come from the decoder
    and keys and values from the encoder output, then feed-forward. Returns the
    new ``[B, T_t, d]`` and both attention weights.
    """
    h = sublayer_input(y, p.norm1, norm_first, eps)
    out, self_weights = attention(h, h, p.self_attn, n_heads, self_mask)
    y = residual(y, out, p.norm1, norm_first, eps)
    h = sublayer_input(y, p.norm2, norm_first, eps)
    out, cross_weights = attention(h, memory, p.cross_attn, n_heads, memory_mask)
    y = residual(y, out, p.norm2, norm_first, eps)
    h = sublayer_input(y, p.norm3, norm_first, eps)
    return residual(y, feed_forward(h, p.ff), p.norm3, norm_first, eps), DecoderAttention(self_weights, cross_weights)


# ---------------------------------------------------------------------------
# The model (figure 1)
# ---------------------------------------------------------------------------


def embed(tokens: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Token embedding times sqrt(d_model) plus the position encoding (sections 3.4, 3.5)."""
    t, d = tokens.shape[1], table.shape[1]
    x = lookup(table, tokens) * math.sqrt(d)  # [B, T] -> [B, T, d]
    return x + sinusoidal_encoding(t, d, table.dtype)  # + [T, d], broadcast over the batch


def encode(
    src: np.ndarray, params: TransformerParams, cfg: TransformerConfig, src_is_pad: np.ndarray | None = None
) -> np.ndarray:
    """Encoder stack: ``[B, T_s]`` token ids -> memory ``[B, T_s, d_model]``."""
    check_config(params, cfg)
    mask = None if src_is_pad is None else padding_mask(src_is_pad)  # [B, 1, 1, T_s]
    x = embed(src, params.src_embed)
    for layer in params.encoder_layers:
        x = encoder_layer(x, layer, cfg.n_heads, mask, norm_first=cfg.norm_first, eps=cfg.eps)
    return layer_norm(x, params.encoder_norm, cfg.eps)


def decode(
    tgt: np.ndarray,
    memory: np.ndarray,
    params: TransformerParams,
    cfg: TransformerConfig,
    src_is_pad: np.ndarray | None = None,
) -> tuple[np.ndarray, list[DecoderAttention]]:
    """Decoder stack and output projection: ``[B, T_t]`` ids -> logits ``[B, T_t, tgt_vocab]``.

    Also returns every decoder layer's attention weights, first layer first.
    """
    check_config(params, cfg)
    memory_mask = None if src_is_pad is None else padding_mask(src_is_pad)  # [B, 1, 1, T_s]
    self_mask = causal_mask(tgt.shape[1])  # [T_t, T_t]
    y = embed(tgt, params.tgt_embed)
    attention = []
    for layer in params.decoder_layers:
        y, weights = decoder_layer(
            y, memory, layer, cfg.n_heads, self_mask, memory_mask, norm_first=cfg.norm_first, eps=cfg.eps
        )
        attention.append(weights)
    y = layer_norm(y, params.decoder_norm, cfg.eps)
    return linear(y, params.w_out, params.b_out), attention  # [B, T_t, d] -> [B, T_t, V]


def transformer(
    src: np.ndarray,
    tgt: np.ndarray,
    params: TransformerParams,
    cfg: TransformerConfig,
    src_is_pad: np.ndarray | None = None,
) -> np.ndarray:
    """Logits for every target position given the source and the shifted-right target (teacher forcing).

    ``decode`` also gives the attention weights; this is the model as a function.
    """
    memory = encode(src, params, cfg, src_is_pad)
    logits, _ = decode(tgt, memory, params, cfg, src_is_pad)
    return logits


def greedy_decode(
    src: np.ndarray,
    params: TransformerParams,
    cfg: TransformerConfig,
    *,
    bos: int,
    max_len: int,
    src_is_pad: np.ndarray | None = None,
) -> tuple[np.ndarray, list[DecoderAttention]]:
    """Generate ``max_len`` tokens per source sequence, each the argmax given the ones before.

    The encoder runs once; the decoder re-reads the whole prefix at every step,
    which is simple and, by the causal mask, gives the same logits a key-value
    cache would (``runnable.generate`` has the cache, for the GPT). Returns
    ``[B, max_len]`` token ids (without the ``bos`` token) and the decoder's
    attention weights of the last step, whose row i is the step that chose token i.
    """
    if max_len < 1:
        raise ValueError(f"max_len is {max_len}; it must be at least 1")
    memory = encode(src, params, cfg, src_is_pad)
    out = np.full((src.shape[0], max_len + 1), bos, dtype=np.int64)  # [B, 1 + max_len]
    for t in range(max_len):
        logits, attention = decode(out[:, : t + 1], memory, params, cfg, src_is_pad)  # [B, t + 1, V]
        out[:, t + 1] = logits[:, -1].argmax(axis=-1)  # [B, V] -> [B]
    return out[:, 1:], attention
