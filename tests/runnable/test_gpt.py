"""The decoder-only GPT: a torch model assembled from nn modules with the same weights (outputs and
autograd gradients), finite differences, causality, and the checks on its input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerance import assert_all_close, assert_close

from torch_copy import gpt_grad_pairs, randomize, torch_gpt

from runnable.adam import leaves
from runnable.gpt import (
    GPTConfig,
    Position,
    causal_self_attention,
    gpt,
    gpt_forward,
    init_gpt,
    loss_and_grads,
)
from runnable.layers import Activation

POSITIONS = pytest.mark.parametrize("position", list(Position), ids=[p.value for p in Position])


def small_config(position=Position.LEARNED, activation=Activation.GELU_TANH, **sizes):
    return GPTConfig(
        **{"vocab_size": 23, "context": 12, "d_model": 16, "n_heads": 4, "n_layers": 2, "d_ff": 24, **sizes},
        position=position,
        activation=activation,
    )


def random_model(cfg, rng, dtype=np.float64):
    """GPT-2's initialisation is tiny (0.02); random weights of size 0.5 make every term count."""
    return randomize(init_gpt(cfg, rng, dtype), rng)


def batch(cfg, rng, b=3, t=10):
    tokens = rng.integers(0, cfg.vocab_size, (b, t))
    targets = np.roll(tokens, -1, axis=1)
    targets[:, -1] = -100  # the last position has no next token: ignored, as in PyTorch
    return tokens, targets


def rotary_reference(torch, rotary_embedding_torch, cfg, dtype):
    """rotary-embedding-torch with its frequency formula in ``dtype`` (see test_rope.py)."""
    if cfg.position is not Position.ROPE:
        return None
    rotary = rotary_embedding_torch.RotaryEmbedding(dim=cfg.d_model // cfg.n_heads, cache_if_possible=False)
    d_k = cfg.d_model // cfg.n_heads
    with torch.no_grad():
        rotary.freqs.data = 1.0 / (10000 ** (torch.arange(0, d_k, 2, dtype=torch.float64) / d_k))
        if dtype == np.float32:
            rotary.freqs.data = rotary.freqs.data.float()
    return rotary


# --- parity with a torch model assembled from nn modules ------------------------------


@POSITIONS
def test_logits_loss_and_every_gradient_match_torch(torch, rotary_embedding_torch, rng, dtype, position):
    cfg = small_config(position)
    params = random_model(cfg, rng, dtype)
    tokens, targets = batch(cfg, rng)
    model, pairs = torch_gpt(torch, params, cfg, rotary=rotary_reference(torch, rotary_embedding_torch, cfg, dtype))
    t_tokens = torch.from_numpy(tokens)
    t_logits = model(t_tokens)
    t_loss = torch.nn.functional.cross_entropy(t_logits.reshape(-1, cfg.vocab_size), torch.from_numpy(targets).reshape(-1))
    t_loss.backward()

    logits = gpt(tokens, params, cfg)
    loss, grads = loss_and_grads(tokens, targets, params, cfg)
    assert logits.dtype == loss.dtype == grads.token_embed.dtype == dtype
    assert_close(logits, t_logits.detach().numpy(), dtype, label="logits")
    assert_close(loss, t_loss.item(), dtype, label="loss")
    assert_all_close([(label, ours, p.grad.numpy()) for label, ours, p in gpt_grad_pairs(grads, pairs)], dtype)


def test_exact_gelu_model_matches_torch(torch, rng, dtype):
    cfg = small_config(activation=Activation.GELU)
    params = random_model(cfg, rng, dtype)
    tokens, targets = batch(cfg, rng)
    model, pairs = torch_gpt(torch, params, cfg)
    t_logits = model(torch.from_numpy(tokens))
    torch.nn.functional.cross_entropy(t_logits.reshape(-1, cfg.vocab_size), torch.from_numpy(targets).reshape(-1)).backward()
    _, grads = loss_and_grads(tokens, targets, params, cfg)
    assert_close(gpt(tokens, params, cfg), t_logits.detach().numpy(), dtype, label="logits")
    assert_all_close([(label, ours, p.grad.numpy()) for label, ours, p in gpt_grad_pairs(grads, pairs)], dtype)


# --- the hand-written backward against finite differences -----------------------------


@POSITIONS
def test_backward_matches_finite_differences(rng, numerical_grad, position):
    """Every weight array of a 2-layer model, at 5 sampled entries each (float64)."""
    cfg = small_config(position, vocab_size=11, d_model=8, n_heads=2, d_ff=12)
    params = random_model(cfg, rng)
    tokens, targets = batch(cfg, rng, b=2, t=6)
    _, grads = loss_and_grads(tokens, targets, params, cfg)
    arrays, analytic = leaves(params), leaves(grads)
    assert len(arrays) == len(analytic) == 1 + (position == Position.LEARNED) + 2 * 12 + 2

    def f():
        return loss_and_grads(tokens, targets, params, cfg)[0]

    for i, (x, g) in enumerate(zip(arrays, analytic)):
        assert g.shape == x.shape
        idx = rng.choice(x.size, size=min(5, x.size), replace=False)
        numerical_grad(f, x, indices=idx).assert_matches(g.reshape(-1)[idx], f"leaf {i} of shape {x.shape}")


# --- properties ------------------------------------------------------------------------


@POSITIONS
def test_training_forward_equals_inference_forward(rng, dtype, position):
    cfg = small_config(position)
    params = random_model(cfg, rng, dtype)
    tokens, _ = batch(cfg, rng)
    logits, _ = gpt_forward(tokens, params, cfg)
    assert_close(logits, gpt(tokens, params, cfg), dtype)


@POSITIONS
def test_changing_later_tokens_leaves_earlier_logits_alone(rng, position):
    cfg = small_config(position)
    params = random_model(cfg, rng)
    tokens, _ = batch(cfg, rng)
    logits = gpt(tokens, params, cfg)
    for t in range(1, tokens.shape[1]):
        changed = tokens.copy()
        changed[:, t:] = (changed[:, t:] + 1 + rng.integers(0, cfg.vocab_size - 1, changed[:, t:].shape)) % cfg.vocab_size
        new = gpt(changed, params, cfg)
        assert_close(new[:, :t], logits[:, :t], label=f"changed from {t}")
        assert not np.allclose(new[:, t], logits[:, t])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.integers(1, 5000), position=st.sampled_from([Position.ROPE, Position.ALIBI]))
def test_relative_positions_make_attention_shift_invariant(seed, shift, position):
    """With RoPE or ALiBi the attention sees offsets only: the same tokens at positions moved
    by any shift give the same output. RoPE's angles at position p carry p eps of rounding
    (see test_rope.py), so the bound grows with the largest position."""
    rng = np.random.default_rng(seed)
    cfg = small_config(position)
    params = random_model(cfg, rng)
    x = rng.standard_normal((2, 7, cfg.d_model))
    positions = np.arange(7)
    out, _ = causal_self_attention(x, params.blocks[0].attn, cfg, positions)
    moved, _ = causal_self_attention(x, params.blocks[0].attn, cfg, positions + shift)
    assert_close(moved, out, roundoffs=2**12 + 64 * (shift + 7))


def test_the_output_layer_is_the_token_embedding(rng):
    """Tied weights (eq. 2): the row of W_e of a token absent from the input is used only by the
    output layer, so changing it by delta moves that token's logit by LN_f(h_n) . delta and no other."""
    cfg = small_config()
    params = random_model(cfg, rng)
    tokens = rng.integers(1, cfg.vocab_size, (3, 10))  # token 0 never appears
    logits, (_, _, _, _, final, _) = gpt_forward(tokens, params, cfg)
    delta = rng.standard_normal(cfg.d_model)
    params.token_embed[0] += delta
    moved = gpt(tokens, params, cfg)
    assert_close(moved[..., 1:], logits[..., 1:], label="other tokens' logits")
    assert_close(moved[..., 0] - logits[..., 0], final @ delta, scale=float(np.abs(moved).max()), label="token 0")


def test_float32_in_float32_out_and_mixed_dtypes_refused(rng):
    cfg = small_config()
    params = random_model(cfg, rng, np.float32)
    tokens, _ = batch(cfg, rng)
    assert gpt(tokens, params, cfg).dtype == np.float32
    params.blocks[1].mlp.w1 = params.blocks[1].mlp.w1.astype(np.float64)
    with pytest.raises(TypeError, match="w1 is float64 but x is float32"):
        gpt(tokens, params, cfg)


def test_bad_input_and_configs_get_clear_errors(rng):
    cfg = small_config()
    params = random_model(cfg, rng)
    tokens, _ = batch(cfg, rng, t=cfg.context + 1)
    with pytest.raises(ValueError, match="past the learned table of 12"):
        gpt(tokens, params, cfg)
    with pytest.raises(ValueError, match=r"outside the vocabulary 0\.\.22"):
        gpt(np.array([[1, -1]]), params, cfg)
    with pytest.raises(ValueError, match="GPTConfig does not match the weights: d_ff=32"):
        gpt(tokens[:, :4], params, replace(cfg, d_ff=32))
    with pytest.raises(ValueError, match="position=rope"):
        gpt(tokens[:, :4], params, replace(cfg, position=Position.ROPE))
    with pytest.raises(ValueError, match="not divisible"):
        small_config(d_model=18)
    with pytest.raises(ValueError, match="must be even"):
        small_config(Position.ROPE, d_model=12, n_heads=4)
