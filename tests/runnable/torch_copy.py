"""Match ``runnable`` weights with PyTorch parameters: copy them across, compare gradients.

Weights in ``runnable/`` multiply from the right (``x @ w``, ``[d_in, d_out]``);
``nn.Linear`` and ``nn.MultiheadAttention`` store ``[d_out, d_in]``, hence the
transposes. Each ``*_pairs`` function lists ``(numpy array in PyTorch's layout,
torch parameter)``; called on a gradient tree instead of the weights, the same
list lines up our gradients with ``parameter.grad``. Shared by the parity tests.
"""

from __future__ import annotations

import dataclasses

import numpy as np


def randomize(params, rng: np.random.Generator, scale: float = 0.5):
    """Overwrite every array of a params tree with N(0, scale^2) values (gains N(1, scale^2)).

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
            base = 1.0 if f.name == "gain" else 0.0
            value[...] = base + rng.standard_normal(value.shape) * scale
        elif dataclasses.is_dataclass(value) or isinstance(value, list):
            randomize(value, rng, scale)
    return params


def attention_pairs(p, mha):
    return [
        (p.w_qkv.T, mha.in_proj_weight),
        (p.b_qkv, mha.in_proj_bias),
        (p.w_o.T, mha.out_proj.weight),
        (p.b_o, mha.out_proj.bias),
    ]


def layer_norm_pairs(p, ln):
    return [(p.gain, ln.weight), (p.bias, ln.bias)]


def feed_forward_pairs(p, layer):
    """FeedForwardParams against the linear1/linear2 of a Transformer{En,De}coderLayer."""
    return [
        (p.w1.T, layer.linear1.weight),
        (p.b1, layer.linear1.bias),
        (p.w2.T, layer.linear2.weight),
        (p.b2, layer.linear2.bias),
    ]


def encoder_layer_pairs(p, layer):
    return (
        attention_pairs(p.self_attn, layer.self_attn)
        + layer_norm_pairs(p.norm1, layer.norm1)
        + feed_forward_pairs(p.ff, layer)
        + layer_norm_pairs(p.norm2, layer.norm2)
    )


def decoder_layer_pairs(p, layer):
    return (
        attention_pairs(p.self_attn, layer.self_attn)
        + layer_norm_pairs(p.norm1, layer.norm1)
        + attention_pairs(p.cross_attn, layer.multihead_attn)
        + layer_norm_pairs(p.norm2, layer.norm2)
        + feed_forward_pairs(p.ff, layer)
        + layer_norm_pairs(p.norm3, layer.norm3)
    )


def transformer_pairs(p, model):
    """Every weight of ``nn.Transformer`` (our embeddings and output layer are not in it)."""
    pairs = []
    for ours, theirs in zip(p.encoder_layers, model.encoder.layers, strict=True):
        pairs += encoder_layer_pairs(ours, theirs)
    pairs += layer_norm_pairs(p.encoder_norm, model.encoder.norm)
    for ours, theirs in zip(p.decoder_layers, model.decoder.layers, strict=True):
        pairs += decoder_layer_pairs(ours, theirs)
    return pairs + layer_norm_pairs(p.decoder_norm, model.decoder.norm)


def copy_into(torch, pairs) -> None:
    """Copy each NumPy array into its torch parameter."""
    with torch.no_grad():
        for array, param in pairs:
            param.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def torch_dtype(torch, dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def _layer_options(torch, cfg, dtype) -> dict:
    """Keyword arguments that PyTorch's Transformer classes share: no dropout, ReLU, batch first."""
    return {
        "dim_feedforward": cfg.d_ff,
        "dropout": 0.0,
        "activation": "relu",
        "layer_norm_eps": cfg.eps,
        "batch_first": True,
        "norm_first": cfg.norm_first,
        "dtype": torch_dtype(torch, dtype),
    }


def torch_layer(torch, cls, cfg, dtype):
    """An eval-mode ``nn.TransformerEncoderLayer`` or ``DecoderLayer`` (``cls``) shaped like ``cfg``."""
    return cls(cfg.d_model, cfg.n_heads, **_layer_options(torch, cfg, dtype)).eval()


def torch_transformer(torch, params, cfg, dtype):
    """An eval-mode ``nn.Transformer`` holding ``params`` (embeddings and output layer stay NumPy-side)."""
    model = torch.nn.Transformer(
        d_model=cfg.d_model,
        nhead=cfg.n_heads,
        num_encoder_layers=cfg.n_encoder_layers,
        num_decoder_layers=cfg.n_decoder_layers,
        **_layer_options(torch, cfg, dtype),
    )
    copy_into(torch, transformer_pairs(params, model))
    return model.eval()
