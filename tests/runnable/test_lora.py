"""LoRA: zero-initialised B leaves the model unchanged, merged equals unmerged, only A and B get
gradients (against PyTorch autograd through an unmerged model whose base is frozen), and training
the adapters lowers the loss without touching the base weights."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from tolerance import assert_close

from torch_copy import randomize, torch_gpt

from runnable.adam import adam_step, init_adam, leaves
from runnable.gpt import GPTConfig, Position, gpt, init_gpt
from runnable.gpt import loss_and_grads as gpt_loss_and_grads
from runnable.lora import (
    LoRAConfig,
    count_parameters,
    init_lora,
    lora_linear,
    loss_and_grads,
    merge,
)

ALL = ("w_qkv", "w_o", "w1", "w2")


def _target(block, name):
    """The weight (or its gradient) ``name`` of a GPT block."""
    return {"w_qkv": block.attn.w_qkv, "w_o": block.attn.w_o, "w1": block.mlp.w1, "w2": block.mlp.w2}[name]


def model(rng, dtype=np.float64, position=Position.LEARNED):
    cfg = GPTConfig(vocab_size=19, context=10, d_model=16, n_heads=4, n_layers=2, d_ff=24, position=position)
    return randomize(init_gpt(cfg, rng, dtype), rng), cfg


def trained_adapters(params, lcfg, rng):
    """Adapters with a non-zero B (as after some training), so every term of the update counts."""
    lora = init_lora(params, lcfg, rng)
    for adapter in leaves(lora):
        adapter[...] = rng.standard_normal(adapter.shape) * 0.3
    return lora


def batch(cfg, rng):
    tokens = rng.integers(0, cfg.vocab_size, (3, 8))
    targets = np.roll(tokens, -1, axis=1)
    targets[:, -1] = -100
    return tokens, targets


def test_zero_initialised_b_starts_as_the_base_model(rng):
    params, cfg = model(rng)
    lcfg = LoRAConfig(rank=2, targets=ALL)
    lora = init_lora(params, lcfg, rng)
    assert all(not adapter.b.any() and adapter.a.any() for block in lora.blocks for adapter in vars(block).values())
    tokens, _ = batch(cfg, rng)
    np.testing.assert_array_equal(gpt(tokens, merge(params, lora, lcfg), cfg), gpt(tokens, params, cfg))


def test_merged_equals_unmerged(rng, dtype):
    """x (W_0 + s A B) = x W_0 + s (x A) B, eq. 3: one layer, each of the four target shapes."""
    params, _ = model(rng, dtype)
    lcfg = LoRAConfig(rank=3, alpha=6.0, targets=ALL)
    lora = trained_adapters(params, lcfg, rng)
    merged = merge(params, lora, lcfg)
    block, merged_block, adapters = params.blocks[0], merged.blocks[0], lora.blocks[0]
    for name, w, b, w_merged in (
        ("w_qkv", block.attn.w_qkv, block.attn.b_qkv, merged_block.attn.w_qkv),
        ("w_o", block.attn.w_o, block.attn.b_o, merged_block.attn.w_o),
        ("w1", block.mlp.w1, block.mlp.b1, merged_block.mlp.w1),
        ("w2", block.mlp.w2, block.mlp.b2, merged_block.mlp.w2),
    ):
        x = rng.standard_normal((2, 5, w.shape[0])).astype(dtype)
        unmerged = lora_linear(x, w, b, getattr(adapters, name), lcfg.scale)
        assert unmerged.dtype == dtype
        assert_close(unmerged, x @ w_merged + b, dtype, label=name)


def test_merging_leaves_the_base_weights_alone(rng):
    params, _ = model(rng)
    before = copy.deepcopy(params)
    lcfg = LoRAConfig(targets=ALL)
    merge(params, trained_adapters(params, lcfg, rng), lcfg)
    for a, b in zip(leaves(params), leaves(before)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("targets", [("w_qkv", "w_o"), ALL], ids=["attention", "all-four"])
def test_outputs_and_adapter_gradients_match_torch_with_a_frozen_base(torch, rng, dtype, targets):
    """The torch model adds LoRA unmerged (x W + s (x A) B) with requires_grad off for every base
    weight; our merged forward and projected gradients must give its logits, loss and A, B gradients."""
    params, cfg = model(rng, dtype)
    lcfg = LoRAConfig(rank=2, alpha=3.0, targets=targets)
    lora = trained_adapters(params, lcfg, rng)
    tokens, targets_ = batch(cfg, rng)
    t_model, pairs = torch_gpt(torch, params, cfg, adapters=lora.blocks, lora_scale=lcfg.scale)
    t_logits = t_model(torch.from_numpy(tokens))
    t_loss = torch.nn.functional.cross_entropy(t_logits.reshape(-1, cfg.vocab_size), torch.from_numpy(targets_).reshape(-1))
    t_loss.backward()
    assert all(p.grad is None for _, p in pairs)  # the base is frozen: no gradient at all

    loss, grads = loss_and_grads(tokens, targets_, params, lora, cfg, lcfg)
    assert_close(gpt(tokens, merge(params, lora, lcfg), cfg), t_logits.detach().numpy(), dtype, label="logits")
    assert_close(loss, t_loss.item(), dtype, label="loss")
    pairs, term_scale = [], 0.0
    _, weight_grads = gpt_loss_and_grads(tokens, targets_, merge(params, lora, lcfg), cfg)  # G = dL/dW
    for ours, theirs, adapters, g in zip(grads.blocks, t_model.blocks, lora.blocks, weight_grads.blocks, strict=True):
        modules = {"w_qkv": theirs.attn.qkv, "w_o": theirs.attn.out, "w1": theirs.mlp[0], "w2": theirs.mlp[2]}
        for name in targets:
            pairs += [(f"{name}.a", getattr(ours, name).a, modules[name].a.grad.numpy()),
                      (f"{name}.b", getattr(ours, name).b, modules[name].b.grad.numpy())]
            # dA = s G B^T and dB = s A^T G add up terms of total size at most s max|G| (sum of |B| or |A|),
            # and they can cancel, so that is the scale rounding is measured against.
            a, b, big_g = getattr(adapters, name).a, getattr(adapters, name).b, np.abs(_target(g, name)).max()
            term_scale = max(term_scale, lcfg.scale * big_g * max(np.abs(b).sum(1).max(), np.abs(a).sum(0).max()))
    assert len(leaves(grads)) == len(pairs) == 2 * len(targets) * cfg.n_layers  # nothing but A and B
    for label, ours, theirs in pairs:
        assert_close(ours, theirs, dtype, scale=term_scale, label=label)


def test_adapter_gradients_match_finite_differences(rng, numerical_grad):
    params, cfg = model(rng, position=Position.ROPE)
    lcfg = LoRAConfig(rank=2, targets=ALL)
    lora = trained_adapters(params, lcfg, rng)
    tokens, targets = batch(cfg, rng)
    _, grads = loss_and_grads(tokens, targets, params, lora, cfg, lcfg)

    def f():
        return loss_and_grads(tokens, targets, params, lora, cfg, lcfg)[0]

    for i, (x, g) in enumerate(zip(leaves(lora), leaves(grads))):
        idx = rng.choice(x.size, size=min(6, x.size), replace=False)
        numerical_grad(f, x, indices=idx).assert_matches(g.reshape(-1)[idx], f"adapter array {i}")


def test_training_the_adapters_lowers_the_loss_and_never_moves_the_base(rng):
    params, cfg = model(rng)
    frozen = copy.deepcopy(params)
    lcfg = LoRAConfig(rank=2)
    lora = init_lora(params, lcfg, rng)
    tokens, targets = batch(cfg, rng)
    state = init_adam(lora)
    first = None
    for _ in range(30):
        loss, grads = loss_and_grads(tokens, targets, params, lora, cfg, lcfg)
        first = loss if first is None else first
        adam_step(lora, grads, state, lr=1e-2, beta2=0.999, eps=1e-8)
    assert loss < 0.8 * first
    for a, b in zip(leaves(params), leaves(frozen)):
        np.testing.assert_array_equal(a, b)
    assert count_parameters(lora) == cfg.n_layers * (16 * 2 + 2 * 48 + 16 * 2 + 2 * 16)


def test_bad_configs_get_clear_errors():
    with pytest.raises(ValueError, match="choose some of"):
        LoRAConfig(targets=("w_q",))
    with pytest.raises(ValueError, match="rank=0"):
        LoRAConfig(rank=0)
