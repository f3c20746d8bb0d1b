"""Decoding: the KV cache gives the full recomputation's logits at every step; sampling filters against
PyTorch; top-p keeps the smallest set reaching p; seeded sampling repeats; beam search is exhaustive
when the beam is wide enough and greedy when it is one."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerance import assert_close, eps

from torch_copy import randomize

from runnable.gpt import GPTConfig, Position, gpt, init_gpt, init_kv_cache
from runnable.generate import (
    beam_search,
    filter_top_k,
    filter_top_p,
    generate,
    length_penalty,
    next_token_distribution,
    sample,
    sequence_log_prob,
)
from runnable.transformer import TransformerConfig, greedy_decode, init_transformer, transformer

POSITIONS = pytest.mark.parametrize("position", list(Position), ids=[p.value for p in Position])


def small_gpt(rng, position=Position.LEARNED, dtype=np.float64, context=40):
    cfg = GPTConfig(vocab_size=29, context=context, d_model=16, n_heads=4, n_layers=2, d_ff=32, position=position)
    return randomize(init_gpt(cfg, rng, dtype), rng, scale=0.3), cfg


# --- the KV cache ---------------------------------------------------------------------


@POSITIONS
def test_kv_cache_logits_equal_the_full_recomputation_at_every_step(rng, dtype, position):
    params, cfg = small_gpt(rng, position, dtype)
    prompt = rng.integers(0, cfg.vocab_size, (3, 5))
    tokens, step_logits = generate(prompt, params, cfg, 30, rng=np.random.default_rng(1), top_k=10)
    assert tokens.shape == (3, 35) and step_logits.shape == (3, 30, cfg.vocab_size)
    assert step_logits.dtype == dtype
    np.testing.assert_array_equal(tokens[:, :5], prompt)
    for step in range(30):
        full = gpt(tokens[:, : 5 + step], params, cfg)[:, -1]  # the whole sequence again
        assert_close(step_logits[:, step], full, dtype, label=f"step {step}")


@POSITIONS
def test_generating_without_the_cache_gives_the_same_tokens(rng, position):
    params, cfg = small_gpt(rng, position)
    prompt = rng.integers(0, cfg.vocab_size, (2, 3))
    cached, cached_logits = generate(prompt, params, cfg, 12, temperature=0)
    plain, plain_logits = generate(prompt, params, cfg, 12, temperature=0, use_cache=False)
    np.testing.assert_array_equal(cached, plain)
    assert_close(cached_logits, plain_logits)


def test_the_cache_refuses_to_overflow_and_learned_positions_their_table(rng):
    params, cfg = small_gpt(rng, context=10)
    with pytest.raises(ValueError, match="more than the model's 10"):
        generate(rng.integers(0, 29, (1, 6)), params, cfg, 5, temperature=0)
    with pytest.raises(ValueError, match="needs a generator"):
        generate(rng.integers(0, 29, (1, 2)), params, cfg, 2)
    with pytest.raises(ValueError, match="at least one token per row"):
        generate(np.zeros((2, 0), dtype=int), params, cfg, 2, temperature=0)
    cache = init_kv_cache(cfg, 1, 4, np.float32)  # params are float64
    with pytest.raises(TypeError, match="cache is float32 but k is float64"):
        gpt(rng.integers(0, 29, (1, 2)), params, cfg, cache)
    with pytest.raises(ValueError, match="KV cache holds 4 positions; 5 needed"):
        gpt(rng.integers(0, 29, (1, 5)), params, cfg, init_kv_cache(cfg, 1, 4))


# --- sampling ---------------------------------------------------------------------------


def test_sampling_with_a_seed_is_reproducible(rng):
    params, cfg = small_gpt(rng)
    prompt = rng.integers(0, cfg.vocab_size, (4, 3))
    runs = [generate(prompt, params, cfg, 20, rng=np.random.default_rng(seed), top_p=0.9)[0] for seed in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])  # another seed, other text


def test_temperature_zero_is_greedy_and_temperature_scales_the_logits(rng):
    logits = rng.standard_normal((3, 9)) * 2
    greedy = next_token_distribution(logits, temperature=0)
    np.testing.assert_array_equal(greedy.argmax(-1), logits.argmax(-1))
    assert np.all(greedy.max(-1) == 1)
    hot, cold = next_token_distribution(logits, 2.0), next_token_distribution(logits, 0.5)
    assert np.all(cold.max(-1) > next_token_distribution(logits).max(-1)) and np.all(hot.max(-1) < cold.max(-1))


def test_drawn_tokens_follow_the_distribution(rng):
    """50,000 draws: each frequency within 5 standard deviations, sqrt(p (1 - p) / n), of its probability.

    The draws are seeded, so this is deterministic; 5 sigma would be exceeded by chance with
    probability below 1e-6 per token for another seed."""
    probs = np.array([0.5, 0.25, 0.15, 0.1, 0.0])
    n = 50_000
    draws = sample(np.tile(probs, (n, 1)), rng)
    freq = np.bincount(draws, minlength=5) / n
    assert freq[4] == 0  # a token of probability 0 is never drawn
    assert np.all(np.abs(freq - probs) <= 5 * np.sqrt(probs * (1 - probs) / n))


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), vocab=st.integers(1, 40), p=st.floats(0.01, 1.0), scale=st.floats(0.1, 8))
def test_top_p_keeps_the_smallest_set_whose_mass_reaches_p(seed, vocab, p, scale):
    """Kept mass >= p; without its least probable member it is < p; nothing dropped outranks anything kept.

    The running sums carry at most V eps of rounding, the slack allowed below."""
    logits = np.random.default_rng(seed).standard_normal((1, vocab)) * scale
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    kept = np.isfinite(filter_top_p(logits, p))[0]
    slack = vocab * eps(np.float64) * 4
    mass = probs[0, kept].sum()
    assert mass >= p - slack
    assert mass - probs[0, kept].min() < p + slack
    if not kept.all():
        assert probs[0, ~kept].max() <= probs[0, kept].min()


def test_top_k_keeps_the_k_most_probable(rng):
    logits = rng.standard_normal((4, 12))
    kept = np.isfinite(filter_top_k(logits, 3))
    assert np.all(kept.sum(-1) == 3)
    np.testing.assert_array_equal(np.sort(np.argsort(-logits, -1)[:, :3], -1), np.sort(np.nonzero(kept)[1].reshape(4, 3), -1))
    assert np.all(np.isfinite(filter_top_k(logits, 50)))  # k past V keeps everything
    with pytest.raises(ValueError, match="top_k=0"):
        filter_top_k(logits, 0)
    with pytest.raises(ValueError, match="top_p=0"):
        filter_top_p(logits, 0)


def test_filters_and_temperature_match_pytorch(torch, rng, dtype):
    """torch.topk for top-k; top-p as Hugging Face's TopPLogitsWarper does it, transcribed:
    sort ascending, drop the tokens whose running sum stays within 1 - p."""
    logits = (rng.standard_normal((5, 30)) * 3).astype(dtype)
    t = torch.from_numpy(logits) / 0.7
    kth = torch.topk(t, 8).values[..., -1, None]
    t = t.masked_fill(t < kth, float("-inf"))
    sorted_logits, sorted_index = torch.sort(t, descending=False)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative <= (1 - 0.8)
    remove = remove_sorted.scatter(1, sorted_index, remove_sorted)
    expected = t.masked_fill(remove, float("-inf")).softmax(dim=-1).numpy()
    ours = next_token_distribution(logits, temperature=0.7, top_k=8, top_p=0.8)
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours > 0, expected > 0)
    assert_close(ours, expected, dtype)


# --- beam search with the encoder-decoder Transformer -----------------------------------------


def small_transformer(rng, vocab=4):
    cfg = TransformerConfig(src_vocab=6, tgt_vocab=vocab + 1, d_model=16, n_heads=2, d_ff=24,
                            n_encoder_layers=1, n_decoder_layers=1)
    return randomize(init_transformer(cfg, rng), rng, scale=0.8), cfg


def score_scale(src, out, params, cfg, bos):
    """The size of the terms a score adds up: |out| log-probabilities, each within rounding of the
    largest logit, so two computations of it agree to the parity bound of |out| * max |logit|."""
    tgt_in = np.concatenate([[bos], out[:-1]])[None]
    return len(out) * float(np.abs(transformer(src[None], tgt_in, params, cfg)).max())


def test_a_wide_enough_beam_finds_the_most_probable_output(rng):
    """Beam >= V^max_len drops nothing: the result is the best of all outputs, found by brute force
    (every sequence of up to 3 tokens that ends at its first eos)."""
    params, cfg = small_transformer(rng)
    bos, eos, max_len = 4, 3, 3
    src = rng.integers(0, cfg.src_vocab, (3, 5))
    outputs, scores = beam_search(src, params, cfg, bos=bos, eos=eos, beam_size=4**max_len, max_len=max_len)
    for i in range(len(src)):
        candidates = [
            np.array(seq) for n in range(1, max_len + 1) for seq in itertools.product(range(4), repeat=n)
            if eos not in seq[:-1] and seq[-1] == eos
        ]
        log_probs = [sequence_log_prob(src[i], c, params, cfg, bos) for c in candidates]
        best = int(np.argmax(log_probs))
        np.testing.assert_array_equal(outputs[i], candidates[best])
        assert_close(scores[i], log_probs[best], scale=score_scale(src[i], outputs[i], params, cfg, bos))


def test_a_beam_of_one_is_greedy_decoding(rng):
    params, cfg = small_transformer(rng, vocab=6)
    bos, eos = 6, 5
    src = rng.integers(0, cfg.src_vocab, (6, 5))
    outputs, _ = beam_search(src, params, cfg, bos=bos, eos=eos, beam_size=1, max_len=8)
    greedy, _ = greedy_decode(src, params, cfg, bos=bos, max_len=8)
    for out, row in zip(outputs, greedy):
        stop = np.flatnonzero(row == eos)
        expected = row[: stop[0] + 1] if len(stop) else row
        np.testing.assert_array_equal(out, expected)


def test_beam_scores_are_the_log_probability_of_the_output(rng):
    params, cfg = small_transformer(rng, vocab=6)
    src = rng.integers(0, cfg.src_vocab, (4, 5))
    for alpha in (0.0, 0.8):
        outputs, scores = beam_search(src, params, cfg, bos=6, eos=5, beam_size=3, max_len=6, alpha=alpha)
        for i, out in enumerate(outputs):
            expected = sequence_log_prob(src[i], out, params, cfg, 6) / length_penalty(len(out), alpha)
            assert_close(scores[i], expected, scale=score_scale(src[i], out, params, cfg, 6))


def test_beam_search_gets_clear_errors():
    with pytest.raises(ValueError, match="beam_size=0"):
        beam_search(np.zeros((1, 2), int), None, None, bos=0, eos=1, beam_size=0, max_len=3)


def test_beam_search_ignores_source_padding(rng):
    params, cfg = small_transformer(rng, vocab=6)
    src = rng.integers(0, cfg.src_vocab, (1, 4))
    padded = np.concatenate([src, [[0, 0]]], axis=1)  # two padding tokens after the sentence
    is_pad = np.array([[False] * 4 + [True] * 2])
    trimmed, trimmed_score = beam_search(src, params, cfg, bos=6, eos=5, beam_size=3, max_len=6)
    masked, masked_score = beam_search(padded, params, cfg, bos=6, eos=5, beam_size=3, max_len=6, src_is_pad=is_pad)
    np.testing.assert_array_equal(masked[0], trimmed[0])
    assert_close(masked_score, trimmed_score, scale=score_scale(src[0], trimmed[0], params, cfg, 6))
