"""Encoder and decoder layers, the whole model, causality, and greedy decoding against nn.Transformer."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from tolerance import assert_close

from torch_copy import (
    copy_into,
    decoder_layer_pairs,
    encoder_layer_pairs,
    randomize,
    torch_layer,
    torch_transformer,
)

from runnable.attention import attention_weights, causal_mask, multi_head_attention, padding_mask, project_qkv
from runnable.layers import layer_norm
from runnable.positional import sinusoidal_encoding
from runnable.train_toy import ToySettings, train
from runnable.transformer import (
    TransformerConfig,
    decode,
    decoder_layer,
    embed,
    encode,
    encoder_layer,
    greedy_decode,
    init_decoder_layer,
    init_encoder_layer,
    init_transformer,
    transformer,
)

NORMS = pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])


def small_config(norm_first=False, layers=2):
    return TransformerConfig(
        src_vocab=11,
        tgt_vocab=13,
        d_model=16,
        n_heads=4,
        d_ff=24,
        n_encoder_layers=layers,
        n_decoder_layers=layers,
        norm_first=norm_first,
    )


def random_model(cfg, rng, dtype=np.float64):
    return randomize(init_transformer(cfg, rng, dtype), rng)


def source_padding(b, t):
    """Batch element 0 has two padding positions at the end; the others none."""
    is_pad = np.zeros((b, t), dtype=bool)
    is_pad[0, -2:] = True
    return is_pad


def torch_logits(torch, model, params, cfg, src, tgt, src_is_pad=None):
    """The reference: our embeddings (same formula, in torch) -> nn.Transformer -> our output layer."""
    dt = model.encoder.norm.weight.dtype

    def embed(tokens, table):
        pe = torch.from_numpy(sinusoidal_encoding(tokens.shape[1], cfg.d_model, params.src_embed.dtype))
        return torch.from_numpy(table)[torch.from_numpy(tokens)] * math.sqrt(cfg.d_model) + pe

    pad = None if src_is_pad is None else torch.from_numpy(src_is_pad)
    with torch.no_grad():
        y = model(
            embed(src, params.src_embed),
            embed(tgt, params.tgt_embed),
            tgt_mask=model.generate_square_subsequent_mask(tgt.shape[1], dtype=dt),
            src_key_padding_mask=pad,
            memory_key_padding_mask=pad,
            tgt_is_causal=True,
        )
        return (y @ torch.from_numpy(params.w_out) + torch.from_numpy(params.b_out)).numpy()


# --- properties -------------------------------------------------------------


@NORMS
def test_changing_future_target_tokens_leaves_earlier_outputs_alone(rng, norm_first):
    cfg = small_config(norm_first)
    params = random_model(cfg, rng)
    src = rng.integers(0, cfg.src_vocab, (4, 6))
    tgt = rng.integers(0, cfg.tgt_vocab, (4, 7))
    logits = transformer(src, tgt, params, cfg)
    for t in range(1, 7):
        changed = tgt.copy()
        changed[:, t:] = (changed[:, t:] + 1 + rng.integers(0, cfg.tgt_vocab - 1, changed[:, t:].shape)) % cfg.tgt_vocab
        new = transformer(src, changed, params, cfg)
        assert_close(new[:, :t], logits[:, :t], label=f"future changed from {t}")
        assert not np.allclose(new[:, t], logits[:, t])  # the changed position itself does move


def test_padded_source_tokens_do_not_matter(rng):
    cfg = small_config()
    params = random_model(cfg, rng)
    src = rng.integers(0, cfg.src_vocab, (3, 6))
    tgt = rng.integers(0, cfg.tgt_vocab, (3, 5))
    is_pad = source_padding(3, 6)
    logits = transformer(src, tgt, params, cfg, is_pad)
    other = src.copy()
    other[0, -2:] = (other[0, -2:] + 3) % cfg.src_vocab
    assert_close(transformer(other, tgt, params, cfg, is_pad), logits)
    assert not np.allclose(transformer(other, tgt, params, cfg), logits)  # unmasked, they would


def test_float32_in_float32_out(rng):
    cfg = small_config(layers=1)
    params = random_model(cfg, rng, np.float32)
    src = rng.integers(0, cfg.src_vocab, (2, 5))
    memory = encode(src, params, cfg)
    assert memory.dtype == np.float32
    logits, attention = decode(src % cfg.tgt_vocab, memory, params, cfg)
    assert logits.dtype == np.float32
    assert attention[0].self_attn.dtype == attention[0].cross_attn.dtype == np.float32


def test_greedy_decode_agrees_with_teacher_forcing_on_its_own_output(rng):
    """Feeding the generated tokens back in must reproduce them: generation is argmax of eq. per step."""
    cfg = small_config()
    params = random_model(cfg, rng)
    src = rng.integers(0, cfg.src_vocab, (5, 6))
    out, _ = greedy_decode(src, params, cfg, bos=12, max_len=6)
    assert out.shape == (5, 6)
    tgt_in = np.concatenate([np.full((5, 1), 12), out[:, :-1]], axis=1)
    np.testing.assert_array_equal(transformer(src, tgt_in, params, cfg).argmax(-1), out)


@NORMS
def test_decoding_returns_the_attention_weights_each_layer_used(rng, norm_first):
    """Rebuild the first decoder layer by hand up to its cross-attention: the same weights."""
    cfg = small_config(norm_first)
    params = random_model(cfg, rng)
    src = rng.integers(0, cfg.src_vocab, (3, 6))
    is_pad = source_padding(3, 6)
    ids, attention = greedy_decode(src, params, cfg, bos=12, max_len=5, src_is_pad=is_pad)
    assert len(attention) == cfg.n_decoder_layers
    tgt_in = np.concatenate([np.full((3, 1), 12), ids[:, :-1]], axis=1)
    memory = encode(src, params, cfg, is_pad)
    layer = params.decoder_layers[0]
    y = embed(tgt_in, params.tgt_embed)
    h = layer_norm(y, layer.norm1, cfg.eps) if norm_first else y
    out, self_weights = multi_head_attention(h, h, layer.self_attn, cfg.n_heads, causal_mask(5))
    y = y + out if norm_first else layer_norm(y + out, layer.norm1, cfg.eps)
    queries_in = layer_norm(y, layer.norm2, cfg.eps) if norm_first else y
    q, k, _ = project_qkv(queries_in, memory, layer.cross_attn, cfg.n_heads)
    assert_close(attention[0].self_attn, self_weights, label="self-attention")
    assert_close(attention[0].cross_attn, attention_weights(q, k, padding_mask(is_pad)), label="cross-attention")
    assert np.all(attention[0].cross_attn[0, ..., -2:] == 0)  # padding gets no weight


def test_a_config_that_does_not_match_the_weights_is_refused(rng):
    """d_model and d_ff are read from the arrays; the config must say the same, or it would lie."""
    cfg = small_config()
    params = random_model(cfg, rng)
    src = rng.integers(0, cfg.src_vocab, (2, 4))
    for wrong in (replace(cfg, d_model=32), replace(cfg, d_ff=48), replace(cfg, n_encoder_layers=1)):
        with pytest.raises(ValueError, match="TransformerConfig does not match the weights"):
            transformer(src, src, params, wrong)


def test_negative_or_too_large_token_ids_are_refused(rng):
    cfg = small_config(layers=1)
    params = random_model(cfg, rng)
    src = rng.integers(0, cfg.src_vocab, (2, 4))
    bad = src.copy()
    bad[1, 2] = -1  # would silently read the last embedding row
    with pytest.raises(ValueError, match=r"outside the vocabulary 0\.\.10"):
        encode(bad, params, cfg)
    with pytest.raises(ValueError, match=r"outside the vocabulary 0\.\.12"):
        transformer(src, src + 13, params, cfg)


# --- parity with PyTorch --------------------------------------------------------


@NORMS
def test_encoder_layer_matches_torch(torch, rng, dtype, norm_first):
    cfg = small_config(norm_first)
    p = randomize(init_encoder_layer(cfg, rng, dtype), rng)
    x = rng.standard_normal((3, 6, cfg.d_model)).astype(dtype)
    is_pad = source_padding(3, 6)
    ours = encoder_layer(x, p, cfg.n_heads, padding_mask(is_pad), norm_first=norm_first)
    layer = torch_layer(torch, torch.nn.TransformerEncoderLayer, cfg, dtype)
    copy_into(torch, encoder_layer_pairs(p, layer))
    with torch.no_grad():
        theirs = layer(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(is_pad)).numpy()
    keep = ~is_pad  # PyTorch's fast path may return zeros at padding positions; compare the rest
    assert ours.dtype == dtype
    assert_close(ours[keep], theirs[keep], dtype)


@NORMS
def test_decoder_layer_matches_torch(torch, rng, dtype, norm_first):
    cfg = small_config(norm_first)
    p = randomize(init_decoder_layer(cfg, rng, dtype), rng)
    y = rng.standard_normal((3, 5, cfg.d_model)).astype(dtype)
    memory = rng.standard_normal((3, 6, cfg.d_model)).astype(dtype)
    is_pad = source_padding(3, 6)
    ours, _ = decoder_layer(y, memory, p, cfg.n_heads, causal_mask(5), padding_mask(is_pad), norm_first=norm_first)
    layer = torch_layer(torch, torch.nn.TransformerDecoderLayer, cfg, dtype)
    copy_into(torch, decoder_layer_pairs(p, layer))
    with torch.no_grad():
        theirs = layer(
            torch.from_numpy(y),
            torch.from_numpy(memory),
            tgt_mask=torch.from_numpy(~causal_mask(5)),  # torch: True = masked out
            memory_key_padding_mask=torch.from_numpy(is_pad),
        ).numpy()
    assert_close(ours, theirs, dtype)


@NORMS
def test_whole_model_matches_torch_transformer(torch, rng, dtype, norm_first):
    cfg = small_config(norm_first)
    params = random_model(cfg, rng, dtype)
    src = rng.integers(0, cfg.src_vocab, (3, 6))
    tgt = rng.integers(0, cfg.tgt_vocab, (3, 5))
    is_pad = source_padding(3, 6)
    ours = transformer(src, tgt, params, cfg, is_pad)
    theirs = torch_logits(torch, torch_transformer(torch, params, cfg, dtype), params, cfg, src, tgt, is_pad)
    assert ours.dtype == dtype
    assert_close(ours, theirs, dtype)


@NORMS
def test_greedy_decoding_is_token_identical_to_torch(torch, norm_first):
    """300 random sources, 10 generated tokens each, same weights on both sides.

    A model with random weights emits nearly the same few tokens for every
    input, which would prove little; 60 steps of the reversal task give a
    partly trained model whose outputs vary with the source.
    """
    settings = ToySettings(
        seed=0, d_model=32, d_ff=64, n_layers=2, norm_first=norm_first, max_steps=60, dtype="float64", test_size=1
    )
    trained = train(settings)
    params, cfg, bos, steps = trained.params, trained.config, settings.n_symbols, settings.seq_len
    src = np.random.default_rng(1).integers(0, settings.n_symbols, (300, settings.seq_len))
    ours, _ = greedy_decode(src, params, cfg, bos=bos, max_len=steps)
    model = torch_transformer(torch, params, cfg, np.float64)
    theirs = np.full((len(src), steps + 1), bos)
    for t in range(steps):
        logits = torch_logits(torch, model, params, cfg, src, theirs[:, : t + 1])
        theirs[:, t + 1] = logits[:, -1].argmax(-1)
    assert len(np.unique(ours, axis=0)) > 100  # outputs really depend on the input
    np.testing.assert_array_equal(ours, theirs[:, 1:])
