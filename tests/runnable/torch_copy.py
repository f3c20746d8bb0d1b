"""Copy ``runnable`` weights into PyTorch modules, and randomize them first.

Weights in ``runnable/`` multiply from the right (``x @ w``, ``[d_in, d_out]``);
``nn.Linear`` stores ``[d_out, d_in]``, hence the transposes. Shared by the
attention, layer and transformer parity tests.
"""

from __future__ import annotations

import dataclasses

import numpy as np


def randomize(params, rng: np.random.Generator, scale: float = 0.5):
    """Fill every array of a params tree with fresh N(0, scale^2) values (gains near 1).

    PyTorch starts biases and layer-norm offsets at zero and gains at one, which
    would hide a missing bias or layer norm under the tolerance; random values
    make every parameter count.
    """
    if isinstance(params, list):
        for p in params:
            randomize(p, rng, scale)
        return params
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if isinstance(value, np.ndarray):
            noise = rng.standard_normal(value.shape) * scale
            base = 1.0 if f.name == "gain" else 0.0
            value[...] = (base + noise).astype(value.dtype)
        elif value is not None and not isinstance(value, (int, float, bool)):
            randomize(value, rng, scale)
    return params


def tensor(torch, a: np.ndarray):
    """A torch tensor sharing nothing with ``a`` (a copy), same dtype."""
    return torch.from_numpy(np.array(a, copy=True))


def copy_attention(torch, mha, p) -> None:
    """AttentionParams -> nn.MultiheadAttention (in_proj_weight is W_qkv transposed)."""
    with torch.no_grad():
        mha.in_proj_weight.copy_(tensor(torch, p.w_qkv.T))
        mha.in_proj_bias.copy_(tensor(torch, p.b_qkv))
        mha.out_proj.weight.copy_(tensor(torch, p.w_o.T))
        mha.out_proj.bias.copy_(tensor(torch, p.b_o))


def copy_layer_norm(torch, ln, p) -> None:
    with torch.no_grad():
        ln.weight.copy_(tensor(torch, p.gain))
        ln.bias.copy_(tensor(torch, p.bias))


def copy_feed_forward(torch, layer, p) -> None:
    """FeedForwardParams -> the linear1/linear2 of a Transformer{En,De}coderLayer."""
    with torch.no_grad():
        layer.linear1.weight.copy_(tensor(torch, p.w1.T))
        layer.linear1.bias.copy_(tensor(torch, p.b1))
        layer.linear2.weight.copy_(tensor(torch, p.w2.T))
        layer.linear2.bias.copy_(tensor(torch, p.b2))


def copy_encoder_layer(torch, layer, p) -> None:
    copy_attention(torch, layer.self_attn, p.self_attn)
    copy_layer_norm(torch, layer.norm1, p.norm1)
    copy_feed_forward(torch, layer, p.ff)
    copy_layer_norm(torch, layer.norm2, p.norm2)


def copy_decoder_layer(torch, layer, p) -> None:
    copy_attention(torch, layer.self_attn, p.self_attn)
    copy_layer_norm(torch, layer.norm1, p.norm1)
    copy_attention(torch, layer.multihead_attn, p.cross_attn)
    copy_layer_norm(torch, layer.norm2, p.norm2)
    copy_feed_forward(torch, layer, p.ff)
    copy_layer_norm(torch, layer.norm3, p.norm3)


def torch_transformer(torch, params, cfg, dtype):
    """An eval-mode ``nn.Transformer`` holding ``params`` (no embeddings: those stay NumPy-side)."""
    model = torch.nn.Transformer(
        d_model=cfg.d_model,
        nhead=cfg.n_heads,
        num_encoder_layers=cfg.n_encoder_layers,
        num_decoder_layers=cfg.n_decoder_layers,
        dim_feedforward=cfg.d_ff,
        dropout=0.0,
        activation="relu",
        layer_norm_eps=cfg.eps,
        batch_first=True,
        norm_first=cfg.norm_first,
        dtype=torch.float64 if dtype == np.float64 else torch.float32,
    )
    for layer, p in zip(model.encoder.layers, params.encoder_layers):
        copy_encoder_layer(torch, layer, p)
    copy_layer_norm(torch, model.encoder.norm, params.encoder_norm)
    for layer, p in zip(model.decoder.layers, params.decoder_layers):
        copy_decoder_layer(torch, layer, p)
    copy_layer_norm(torch, model.decoder.norm, params.decoder_norm)
    return model.eval()
