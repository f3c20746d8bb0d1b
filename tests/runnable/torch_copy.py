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


# --------------------------------------------------------------------------- #
# A GPT assembled from torch.nn modules (the reference for runnable/gpt.py)
# --------------------------------------------------------------------------- #


def alibi_bias_torch(torch, n_heads: int, t: int, dtype):
    """Press et al. 2022, section 3, written out independently of runnable/alibi.py: head i (from 0)
    has slope 2^(-8 (i + 1) / n) for a power-of-two n; the bias is -slope * (query - key)."""
    assert n_heads & (n_heads - 1) == 0, "the test models use a power-of-two head count"
    slopes = torch.tensor([2.0 ** (-8.0 * (i + 1) / n_heads) for i in range(n_heads)], dtype=torch.float64)
    distance = torch.arange(t)[:, None] - torch.arange(t)[None, :]
    return (-slopes[:, None, None] * distance).to(dtype)  # [h, T, T]


def torch_gpt(torch, params, cfg, *, rotary=None, adapters=None, lora_scale: float = 1.0):
    """An eval-mode torch model holding ``params`` (a ``runnable.gpt.GPTParams``), built from nn modules.

    Learned positions use ``nn.MultiheadAttention``. RoPE and ALiBi need the
    queries and keys, so those models project with ``nn.Linear`` and attend with
    ``F.scaled_dot_product_attention``: RoPE through ``rotary`` (a
    ``rotary_embedding_torch.RotaryEmbedding``), ALiBi as a float attention mask.
    ``adapters`` (a list of ``runnable.lora.BlockAdapters``) adds LoRA the
    unmerged way, x W + scale (x A) B, with the base weights frozen.
    Returns ``(model, pairs)``: ``pairs`` lines up our arrays (PyTorch layout) with the parameters.
    """
    nn, F = torch.nn, torch.nn.functional
    dtype = torch_dtype(torch, params.token_embed.dtype)
    d, h, position = cfg.d_model, cfg.n_heads, cfg.position.value
    use_mha = position == "learned" and adapters is None

    class LoRALinear(nn.Module):
        def __init__(self, base, adapter):
            super().__init__()
            self.base = base
            self.a = nn.Parameter(torch.from_numpy(adapter.a.copy()))  # [d_in, r]
            self.b = nn.Parameter(torch.from_numpy(adapter.b.copy()))  # [r, d_out]

        def forward(self, x):
            return self.base(x) + lora_scale * ((x @ self.a) @ self.b)

    def linear(d_in, d_out, adapter=None):
        layer = nn.Linear(d_in, d_out, dtype=dtype)
        return layer if adapter is None else LoRALinear(layer, adapter)

    def base_of(layer):
        return layer.base if isinstance(layer, LoRALinear) else layer

    class Attention(nn.Module):
        def __init__(self, block_adapters):
            super().__init__()
            self.qkv = linear(d, 3 * d, getattr(block_adapters, "w_qkv", None))
            self.out = linear(d, d, getattr(block_adapters, "w_o", None))

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in self.qkv(x).split(d, dim=-1))
            causal = torch.ones(t, t, dtype=torch.bool).tril()
            mask = causal
            if position == "rope":
                q, k = rotary.rotate_queries_or_keys(q), rotary.rotate_queries_or_keys(k)
            elif position == "alibi":
                mask = alibi_bias_torch(torch, h, t, dtype).masked_fill(~causal, float("-inf"))
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.out(y.transpose(1, 2).reshape(b, t, d))

    class Block(nn.Module):
        def __init__(self, block_adapters):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d, eps=cfg.eps, dtype=dtype)
            self.attn = nn.MultiheadAttention(d, h, batch_first=True, dtype=dtype) if use_mha else Attention(block_adapters)
            self.ln_2 = nn.LayerNorm(d, eps=cfg.eps, dtype=dtype)
            gelu = nn.GELU(approximate="tanh" if cfg.activation.value == "gelu_tanh" else "none")
            self.mlp = nn.Sequential(
                linear(d, cfg.d_ff, getattr(block_adapters, "w1", None)), gelu,
                linear(cfg.d_ff, d, getattr(block_adapters, "w2", None)),
            )

        def forward(self, x):
            a = self.ln_1(x)
            if use_mha:
                causal = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()
                a = self.attn(a, a, a, attn_mask=~causal, need_weights=False)[0]  # torch: True = masked out
            else:
                a = self.attn(a)
            x = x + a
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(cfg.vocab_size, d, dtype=dtype)
            self.wpe = nn.Embedding(cfg.context, d, dtype=dtype) if position == "learned" else None
            self.blocks = nn.ModuleList(Block(None if adapters is None else adapters[i]) for i in range(cfg.n_layers))
            self.ln_f = nn.LayerNorm(d, eps=cfg.eps, dtype=dtype)

        def forward(self, tokens):
            x = self.wte(tokens)
            if self.wpe is not None:
                x = x + self.wpe(torch.arange(tokens.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.T  # tied: the output layer is the embedding

    model = GPT()
    pairs = [(params.token_embed, model.wte.weight)]
    if model.wpe is not None:
        pairs.append((params.position_embed, model.wpe.weight))
    for p, blk in zip(params.blocks, model.blocks, strict=True):
        pairs += layer_norm_pairs(p.norm1, blk.ln_1)
        if use_mha:
            pairs += attention_pairs(p.attn, blk.attn)
        else:
            qkv, out = base_of(blk.attn.qkv), base_of(blk.attn.out)
            pairs += [(p.attn.w_qkv.T, qkv.weight), (p.attn.b_qkv, qkv.bias), (p.attn.w_o.T, out.weight),
                      (p.attn.b_o, out.bias)]
        pairs += layer_norm_pairs(p.norm2, blk.ln_2)
        w1, w2 = base_of(blk.mlp[0]), base_of(blk.mlp[2])
        pairs += [(p.mlp.w1.T, w1.weight), (p.mlp.b1, w1.bias), (p.mlp.w2.T, w2.weight), (p.mlp.b2, w2.bias)]
    pairs += layer_norm_pairs(params.final_norm, model.ln_f)
    copy_into(torch, pairs)
    if adapters is not None:
        for _, param in pairs:
            param.requires_grad_(False)  # LoRA: the base model is frozen
    return model.eval(), pairs


def gpt_grad_pairs(grads, pairs):
    """Our gradient tree lined up with ``pairs`` from ``torch_gpt``: (label, ours in PyTorch layout, param)."""
    ours = [grads.token_embed] + ([grads.position_embed] if grads.position_embed is not None else [])
    for g in grads.blocks:
        ours += [g.norm1.gain, g.norm1.bias, g.attn.w_qkv.T, g.attn.b_qkv, g.attn.w_o.T, g.attn.b_o,
                 g.norm2.gain, g.norm2.bias, g.mlp.w1.T, g.mlp.b1, g.mlp.w2.T, g.mlp.b2]
    ours += [grads.final_norm.gain, grads.final_norm.bias]
    assert len(ours) == len(pairs)
    return [(f"parameter {i} of shape {tuple(p.shape)}", g, p) for i, (g, (_, p)) in enumerate(zip(ours, pairs))]
