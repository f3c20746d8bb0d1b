"""Hand-written backward passes: central finite differences (float64) and PyTorch autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tolerance import assert_all_close, assert_close
from torch_copy import (
    attention_pairs,
    copy_into,
    decoder_layer_pairs,
    encoder_layer_pairs,
    layer_norm_pairs,
    randomize,
    torch_dtype,
    torch_layer,
    torch_transformer,
    transformer_pairs,
)

from runnable import backward as bw
from runnable._common import softmax
from runnable.adam import leaves
from runnable.attention import causal_mask, init_attention, padding_mask
from runnable.alibi import alibi_bias
from runnable.layers import Activation, init_feed_forward, init_layer_norm
from runnable.rope import rope_angles
from runnable.positional import sinusoidal_encoding
from runnable.transformer import TransformerConfig, init_decoder_layer, init_encoder_layer, init_transformer

NORMS = pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])


def small_config(norm_first=False, layers=1, d_model=8):
    return TransformerConfig(
        src_vocab=5,
        tgt_vocab=6,
        d_model=d_model,
        n_heads=2,
        d_ff=12,
        n_encoder_layers=layers,
        n_decoder_layers=layers,
        norm_first=norm_first,
    )


def padded(b, t):
    is_pad = np.zeros((b, t), dtype=bool)
    is_pad[0, -2:] = True
    return is_pad


def assert_fd_matches(f, arrays, grads, numerical_grad, magnitude=None):
    """Each array's analytic gradient against finite differences of the scalar ``f()``
    (``magnitude``: the total size of the terms ``f`` adds up; see ``numerical_grad``)."""
    assert len(arrays) == len(grads)
    for i, (x, g) in enumerate(zip(arrays, grads)):
        numerical_grad(f, x, magnitude=magnitude).assert_matches(g, f"array {i} of shape {x.shape}")


# --- finite differences, piece by piece ------------------------------------------


def test_softmax_backward(rng, numerical_grad):
    x, r = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    y = softmax(x)
    f = lambda: np.sum(softmax(x) * r)  # noqa: E731
    assert_fd_matches(f, [x], [bw.softmax_backward(r, y)], numerical_grad, np.sum(np.abs(y * r)))


def test_attention_backward_with_masks(rng, numerical_grad):
    q, k, v = (rng.standard_normal((2, 2, 5, 3)) for _ in range(3))
    mask = causal_mask(5) & padding_mask(padded(2, 5))
    out, cache = bw.attention_forward(q, k, v, mask)
    r = rng.standard_normal(out.shape)
    grads = bw.attention_backward(r, cache)

    def f():
        return np.sum(bw.attention_forward(q, k, v, mask)[0] * r)

    assert_fd_matches(f, [q, k, v], list(grads), numerical_grad, np.sum(np.abs(out * r)))


@pytest.mark.parametrize("kind", ["self", "cross"])
def test_multi_head_attention_backward(rng, numerical_grad, kind):
    d = 8
    p = randomize(init_attention(d, rng), rng)
    x = rng.standard_normal((2, 4, d))
    memory = x if kind == "self" else rng.standard_normal((2, 5, d))
    mask = causal_mask(4) if kind == "self" else padding_mask(padded(2, 5))

    def run():
        return bw.multi_head_attention_forward(x, memory, p, 2, mask)

    out, cache = run()
    r = rng.standard_normal(out.shape)
    d_x, d_memory, grads = bw.multi_head_attention_backward(r, cache)
    inputs, d_inputs = ([x], [d_x + d_memory]) if kind == "self" else ([x, memory], [d_x, d_memory])
    f = lambda: np.sum(run()[0] * r)  # noqa: E731
    assert_fd_matches(f, inputs + leaves(p), d_inputs + leaves(grads), numerical_grad, np.sum(np.abs(out * r)))


def test_layer_norm_backward(rng, numerical_grad):
    p = randomize(init_layer_norm(6), rng)
    x = rng.standard_normal((2, 3, 6)) * 2 + 1
    out, cache = bw.layer_norm_forward(x, p)
    r = rng.standard_normal(out.shape)
    d_x, grads = bw.layer_norm_backward(r, cache)
    f = lambda: np.sum(bw.layer_norm_forward(x, p)[0] * r)  # noqa: E731
    assert_fd_matches(f, [x] + leaves(p), [d_x] + leaves(grads), numerical_grad, np.sum(np.abs(out * r)))


@pytest.mark.parametrize("activation", list(Activation))
def test_feed_forward_backward(rng, numerical_grad, activation):
    p = init_feed_forward(6, 10, rng)
    x = rng.standard_normal((2, 3, 6))
    out, cache = bw.feed_forward_forward(x, p, activation)
    r = rng.standard_normal(out.shape)
    d_x, grads = bw.feed_forward_backward(r, cache)
    f = lambda: np.sum(bw.feed_forward_forward(x, p, activation)[0] * r)  # noqa: E731
    assert_fd_matches(f, [x] + leaves(p), [d_x] + leaves(grads), numerical_grad, np.sum(np.abs(out * r)))


@NORMS
def test_encoder_layer_backward(rng, numerical_grad, norm_first):
    cfg = small_config(norm_first)
    p = randomize(init_encoder_layer(cfg, rng), rng)
    x = rng.standard_normal((2, 4, cfg.d_model))
    mask = padding_mask(padded(2, 4))

    def run():
        return bw.encoder_layer_forward(x, p, cfg.n_heads, mask, norm_first=norm_first)

    out, cache = run()
    r = rng.standard_normal(out.shape)
    d_x, grads = bw.encoder_layer_backward(r, cache)
    f = lambda: np.sum(run()[0] * r)  # noqa: E731
    assert_fd_matches(f, [x] + leaves(p), [d_x] + leaves(grads), numerical_grad, np.sum(np.abs(out * r)))


@NORMS
def test_decoder_layer_backward(rng, numerical_grad, norm_first):
    cfg = small_config(norm_first)
    p = randomize(init_decoder_layer(cfg, rng), rng)
    y = rng.standard_normal((2, 4, cfg.d_model))
    memory = rng.standard_normal((2, 5, cfg.d_model))
    masks = (causal_mask(4), padding_mask(padded(2, 5)))

    def run():
        return bw.decoder_layer_forward(y, memory, p, cfg.n_heads, *masks, norm_first=norm_first)

    out, cache = run()
    r = rng.standard_normal(out.shape)
    d_y, d_memory, grads = bw.decoder_layer_backward(r, cache)
    arrays, analytic = [y, memory] + leaves(p), [d_y, d_memory] + leaves(grads)
    f = lambda: np.sum(run()[0] * r)  # noqa: E731
    assert_fd_matches(f, arrays, analytic, numerical_grad, np.sum(np.abs(out * r)))


def test_attention_backward_with_rotary_positions_and_a_bias(rng, numerical_grad):
    """RoPE rotates q and k (the backward rotates back); an ALiBi-style bias is a constant."""
    d, heads, t = 8, 2, 5
    p = randomize(init_attention(d, rng), rng)
    x = rng.standard_normal((2, t, d))
    rotary = rope_angles(np.arange(t), d // heads)
    bias = alibi_bias(heads, np.arange(t), np.arange(t))

    def run():
        return bw.multi_head_attention_forward(x, x, p, heads, causal_mask(t), rotary=rotary, bias=bias)

    out, cache = run()
    r = rng.standard_normal(out.shape)
    d_x, d_memory, grads = bw.multi_head_attention_backward(r, cache)
    f = lambda: np.sum(run()[0] * r)  # noqa: E731
    assert_fd_matches(f, [x] + leaves(p), [d_x + d_memory] + leaves(grads), numerical_grad, np.sum(np.abs(out * r)))


def test_backward_forward_passes_refuse_a_float_mask(rng):
    cfg = small_config()
    float_mask = np.triu(np.full((4, 4), -np.inf), k=1)  # PyTorch's generate_square_subsequent_mask
    x = rng.standard_normal((2, 4, cfg.d_model))
    calls = (
        lambda: bw.attention_forward(x, x, x, float_mask),
        lambda: bw.multi_head_attention_forward(x, x, init_attention(cfg.d_model, rng), 2, float_mask),
        lambda: bw.encoder_layer_forward(x, init_encoder_layer(cfg, rng), 2, float_mask),
        lambda: bw.decoder_layer_forward(x, x, init_decoder_layer(cfg, rng), 2, float_mask),
    )
    for call in calls:
        with pytest.raises(TypeError, match="True means 'may attend'"):
            call()


def test_cross_entropy_gradient_and_ignored_positions(rng, numerical_grad):
    logits = rng.standard_normal((2, 4, 6)) * 3
    targets = rng.integers(0, 5, (2, 4))
    targets[1, 2:] = 5  # padding, ignored
    loss, d_logits = bw.cross_entropy(logits, targets, ignore_index=5)
    assert np.all(d_logits[1, 2:] == 0)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    keep = targets != 5
    expected = -np.take_along_axis(log_p, targets[..., None], -1)[..., 0][keep].mean()
    assert abs(loss - expected) < 1e-12
    f = lambda: bw.cross_entropy(logits, targets, ignore_index=5)[0]  # noqa: E731
    assert_fd_matches(f, [logits], [d_logits], numerical_grad)


@NORMS
def test_whole_model_backward(rng, numerical_grad, norm_first):
    """Every weight array of a 2-layer model, at 6 sampled entries each."""
    cfg = small_config(norm_first, layers=2)
    params = randomize(init_transformer(cfg, rng), rng)
    src, tgt_in, tgt_out = rng.integers(0, 5, (2, 5)), rng.integers(0, 6, (2, 4)), rng.integers(0, 6, (2, 4))
    is_pad = padded(2, 5)
    _, grads = bw.loss_and_grads(src, tgt_in, tgt_out, params, cfg, is_pad)

    def f():
        return bw.loss_and_grads(src, tgt_in, tgt_out, params, cfg, is_pad)[0]

    arrays, analytic = leaves(params), leaves(grads)
    assert len(arrays) == len(analytic) == 2 + 2 * 12 + 2 + 2 * 18 + 2 + 2  # embeddings, layers, norms, output
    for i, (x, g) in enumerate(zip(arrays, analytic)):
        assert g.shape == x.shape
        idx = rng.choice(x.size, size=min(6, x.size), replace=False)
        numerical_grad(f, x, indices=idx).assert_matches(g.reshape(-1)[idx], f"leaf {i} of shape {x.shape}")


def test_cross_entropy_refuses_targets_outside_the_classes(rng):
    logits = rng.standard_normal((2, 3, 5))
    with pytest.raises(ValueError, match=r"targets\[1, 1\] is -1, outside the vocabulary 0\.\.4"):
        bw.cross_entropy(logits, np.array([[0, 1, 2], [3, -1, 4]]))  # -1 is not the ignore index
    with pytest.raises(ValueError, match=r"is 5, outside"):
        bw.cross_entropy(logits, np.array([[0, 1, 2], [3, 5, 4]]))
    with pytest.raises(ValueError, match=r"targets have shape \(3,\)"):
        bw.cross_entropy(logits, np.array([0, 1, 2]))


# --- PyTorch autograd ------------------------------------------------------------------


def test_cross_entropy_with_pytorchs_default_ignore_index_matches_torch(torch, rng, dtype):
    """-100, PyTorch's default ignore_index, used to raise IndexError; now it is ours too."""
    logits = (rng.standard_normal((3, 4, 7)) * 3).astype(dtype)
    targets = rng.integers(0, 7, (3, 4))
    targets[0, 1] = targets[2, 3] = -100
    loss, d_logits = bw.cross_entropy(logits, targets)
    assert loss.dtype == d_logits.dtype == dtype
    t_logits = _leaf(torch, logits)
    t_loss = torch.nn.functional.cross_entropy(t_logits.reshape(-1, 7), torch.from_numpy(targets).reshape(-1))
    t_loss.backward()
    assert_close(loss, t_loss.item(), dtype, label="loss")
    assert_close(d_logits, t_logits.grad.numpy(), dtype, label="gradient")
    assert np.all(d_logits[0, 1] == 0) and np.all(d_logits[2, 3] == 0)


@pytest.mark.parametrize("activation", [Activation.GELU, Activation.GELU_TANH])
def test_gelu_feed_forward_grads_match_torch(torch, rng, dtype, activation):
    p = randomize(init_feed_forward(8, 16, rng, dtype), rng)
    x = rng.standard_normal((3, 5, 8)).astype(dtype)
    out, cache = bw.feed_forward_forward(x, p, activation)
    r = rng.standard_normal(out.shape).astype(dtype)
    d_x, grads = bw.feed_forward_backward(r, cache)
    tx, w1, b1, w2, b2 = (_leaf(torch, a) for a in (x, p.w1, p.b1, p.w2, p.b2))
    approximate = "tanh" if activation is Activation.GELU_TANH else "none"
    t_out = torch.nn.functional.gelu(tx @ w1 + b1, approximate=approximate) @ w2 + b2
    (t_out * torch.from_numpy(r)).sum().backward()
    assert_close(out, t_out.detach().numpy(), dtype, label="output")
    assert_all_close(
        [("x", d_x, tx.grad), ("w1", grads.w1, w1.grad), ("b1", grads.b1, b1.grad), ("w2", grads.w2, w2.grad),
         ("b2", grads.b2, b2.grad)],
        dtype,
    )


def _leaf(torch, a):
    return torch.from_numpy(np.array(a)).requires_grad_(True)


def assert_grads_match(pairs, dtype, inputs=()):
    """Every gradient (ours, the torch leaf holding autograd's) within the parity bound of
    the largest entry of them all; ``inputs`` are extra (label, ours, torch tensor) pairs."""
    assert_all_close(
        [(label, ours, tensor.grad.numpy()) for label, ours, tensor in inputs]
        + [(f"parameter {i} of shape {tuple(p.shape)}", ours, p.grad.numpy()) for i, (ours, p) in enumerate(pairs)],
        dtype,
    )


@pytest.mark.parametrize("kind", ["self-causal", "cross-padded"])
def test_multi_head_attention_grads_match_torch(torch, rng, dtype, kind):
    d = 16
    p = randomize(init_attention(d, rng, dtype), rng)
    x = rng.standard_normal((3, 5, d)).astype(dtype)
    memory = x if kind == "self-causal" else rng.standard_normal((3, 6, d)).astype(dtype)
    is_pad = padded(3, 6)
    mask = causal_mask(5) if kind == "self-causal" else padding_mask(is_pad)
    out, cache = bw.multi_head_attention_forward(x, memory, p, 4, mask)
    r = rng.standard_normal(out.shape).astype(dtype)
    d_x, d_memory, grads = bw.multi_head_attention_backward(r, cache)

    mha = torch.nn.MultiheadAttention(d, 4, dropout=0.0, batch_first=True, dtype=torch_dtype(torch, dtype))
    copy_into(torch, attention_pairs(p, mha))
    tx = _leaf(torch, x)
    if kind == "self-causal":
        t_out, _ = mha(tx, tx, tx, attn_mask=torch.from_numpy(~causal_mask(5)), need_weights=False)
        d_x = d_x + d_memory
    else:
        tm = _leaf(torch, memory)
        t_out, _ = mha(tx, tm, tm, key_padding_mask=torch.from_numpy(is_pad), need_weights=False)
    (t_out * torch.from_numpy(r)).sum().backward()
    assert d_x.dtype == dtype and grads.w_qkv.dtype == dtype
    inputs = [("x", d_x, tx)] + ([("memory", d_memory, tm)] if kind == "cross-padded" else [])
    assert_grads_match(attention_pairs(grads, mha), dtype, inputs)


def test_layer_norm_grads_match_torch(torch, rng, dtype):
    p = randomize(init_layer_norm(12, dtype), rng)
    x = (rng.standard_normal((3, 4, 12)) * 2 + 1).astype(dtype)
    out, cache = bw.layer_norm_forward(x, p)
    r = rng.standard_normal(out.shape).astype(dtype)
    d_x, grads = bw.layer_norm_backward(r, cache)
    ln = torch.nn.LayerNorm(12, dtype=torch_dtype(torch, dtype))
    copy_into(torch, layer_norm_pairs(p, ln))
    tx = _leaf(torch, x)
    (ln(tx) * torch.from_numpy(r)).sum().backward()
    assert_grads_match(layer_norm_pairs(grads, ln), dtype, [("x", d_x, tx)])


@NORMS
def test_encoder_layer_grads_match_torch(torch, rng, dtype, norm_first):
    cfg = small_config(norm_first, d_model=16)
    p = randomize(init_encoder_layer(cfg, rng, dtype), rng)
    x = rng.standard_normal((3, 6, cfg.d_model)).astype(dtype)
    is_pad = padded(3, 6)
    out, cache = bw.encoder_layer_forward(x, p, cfg.n_heads, padding_mask(is_pad), norm_first=norm_first)
    r = rng.standard_normal(out.shape).astype(dtype)
    d_x, grads = bw.encoder_layer_backward(r, cache)
    layer = torch_layer(torch, torch.nn.TransformerEncoderLayer, cfg, dtype)
    copy_into(torch, encoder_layer_pairs(p, layer))
    tx = _leaf(torch, x)
    (layer(tx, src_key_padding_mask=torch.from_numpy(is_pad)) * torch.from_numpy(r)).sum().backward()
    assert_grads_match(encoder_layer_pairs(grads, layer), dtype, [("x", d_x, tx)])


@NORMS
def test_decoder_layer_grads_match_torch(torch, rng, dtype, norm_first):
    cfg = small_config(norm_first, d_model=16)
    p = randomize(init_decoder_layer(cfg, rng, dtype), rng)
    y = rng.standard_normal((3, 5, cfg.d_model)).astype(dtype)
    memory = rng.standard_normal((3, 6, cfg.d_model)).astype(dtype)
    is_pad = padded(3, 6)
    out, cache = bw.decoder_layer_forward(
        y, memory, p, cfg.n_heads, causal_mask(5), padding_mask(is_pad), norm_first=norm_first
    )
    r = rng.standard_normal(out.shape).astype(dtype)
    d_y, d_memory, grads = bw.decoder_layer_backward(r, cache)
    layer = torch_layer(torch, torch.nn.TransformerDecoderLayer, cfg, dtype)
    copy_into(torch, decoder_layer_pairs(p, layer))
    ty, tm = _leaf(torch, y), _leaf(torch, memory)
    t_out = layer(
        ty, tm, tgt_mask=torch.from_numpy(~causal_mask(5)), memory_key_padding_mask=torch.from_numpy(is_pad)
    )
    (t_out * torch.from_numpy(r)).sum().backward()
    assert_grads_match(decoder_layer_pairs(grads, layer), dtype, [("y", d_y, ty), ("memory", d_memory, tm)])


@NORMS
def test_whole_model_grads_match_torch(torch, rng, dtype, norm_first):
    """Loss and every gradient of embeddings + nn.Transformer + output layer + cross-entropy."""
    cfg = small_config(norm_first, layers=2, d_model=16)
    params = randomize(init_transformer(cfg, rng, dtype), rng)
    src, tgt_in, tgt_out = rng.integers(0, 5, (3, 6)), rng.integers(0, 6, (3, 5)), rng.integers(0, 6, (3, 5))
    is_pad = padded(3, 6)
    loss, grads = bw.loss_and_grads(src, tgt_in, tgt_out, params, cfg, is_pad)

    model = torch_transformer(torch, params, cfg, dtype)
    src_embed, tgt_embed, w_out, b_out = (
        _leaf(torch, a) for a in (params.src_embed, params.tgt_embed, params.w_out, params.b_out)
    )

    def embed(tokens, table):
        pe = torch.from_numpy(sinusoidal_encoding(tokens.shape[1], cfg.d_model, dtype))
        return table[torch.from_numpy(tokens)] * math.sqrt(cfg.d_model) + pe

    pad = torch.from_numpy(is_pad)
    y = model(
        embed(src, src_embed),
        embed(tgt_in, tgt_embed),
        tgt_mask=torch.from_numpy(~causal_mask(5)),
        src_key_padding_mask=pad,
        memory_key_padding_mask=pad,
    )
    logits = y @ w_out + b_out
    t_loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.tgt_vocab), torch.from_numpy(tgt_out).reshape(-1))
    t_loss.backward()
    assert loss.dtype == dtype
    assert_close(loss, t_loss.item(), dtype, label="loss")
    extra = [(grads.src_embed, src_embed), (grads.tgt_embed, tgt_embed), (grads.w_out, w_out), (grads.b_out, b_out)]
    assert_grads_match(transformer_pairs(grads, model) + extra, dtype)
