"""Decoding: turning a model's next-token distributions into text, and doing it fast with a KV cache.

A language model gives P(x_t | x_1..x_{t-1}) at every step (GPT, eq. 1);
generation picks a token, appends it, and asks again. How it picks:

* **greedy**: the most probable token (``temperature=0``).
* **temperature**: sample from softmax(z / T). T < 1 sharpens the distribution
  towards greedy, T > 1 flattens it towards uniform.
* **top-k** (Fan, Lewis & Dauphin 2018): sample only among the k most probable
  tokens, renormalised.
* **top-p**, nucleus sampling (Holtzman, Buys, Du, Forbes & Choi, "The Curious
  Case of Neural Text Degeneration", ICLR 2020, section 3.1): sample only from
  the smallest set V(p) of most probable tokens with sum_{x in V(p)} P(x) >= p,
  renormalised. Unlike top-k the set grows when the model is unsure and shrinks
  when it is sure.

Temperature applies first, then top-k, then top-p (the order Hugging Face's
``generate`` uses). Sampling draws from a seeded ``np.random.Generator``, so the
same seed gives the same text.

**Beam search** (for the encoder-decoder ``runnable.transformer``) keeps the
``beam_size`` best partial translations by total log-probability instead of one,
as Sutskever et al. (2014, section 3.2) did; an optional length penalty
lp(Y) = ((5 + |Y|) / 6)^alpha (Wu et al. 2016, "Google's Neural Machine
Translation System", section 7) keeps it from preferring short outputs.

**The KV cache.** Under the causal mask, the keys and values of positions
1..t-1 do not change when token t arrives, so recomputing them at every step
(what ``transformer.greedy_decode`` does) repeats work: O(T^2) projections for T
tokens. ``generate`` keeps them in ``gpt.KVCache`` and feeds the model only the
newest token; the logits are the same (tested to rounding at every step).
"""

from __future__ import annotations

import numpy as np

from runnable._common import check_float, log_softmax, softmax
from runnable.gpt import GPTConfig, GPTParams, Position, gpt, init_kv_cache
from runnable.transformer import TransformerConfig, TransformerParams, decode, encode

# ---------------------------------------------------------------------------
# From logits to a distribution to a token
# ---------------------------------------------------------------------------


def filter_top_k(logits: np.ndarray, k: int) -> np.ndarray:
    """Logits ``[..., V]`` with every token outside the k largest set to -inf.

    Tokens tied with the k-th largest logit stay (so a few more than k may
    remain), as ``torch.topk``-based filters do.
    """
    if not 1 <= k:
        raise ValueError(f"top_k={k}; it must be at least 1")
    k = min(k, logits.shape[-1])
    kth = np.sort(logits, axis=-1)[..., -k][..., None]  # [..., V] -> [..., 1], the k-th largest
    return np.where(logits < kth, -np.inf, logits)


def filter_top_p(logits: np.ndarray, p: float) -> np.ndarray:
    """Logits ``[..., V]`` with every token outside the nucleus V(p) set to -inf (Holtzman et al. 2020, 3.1).

    V(p) is the smallest set of most probable tokens whose probabilities sum to
    at least p: sort by probability, keep tokens until the running sum reaches p.
    Equal probabilities are taken in token order, so the set is well defined.
    """
    if not 0 < p <= 1:
        raise ValueError(f"top_p={p}; it must be in (0, 1]")
    probs = softmax(logits)  # [..., V]
    order = np.argsort(-probs, axis=-1, kind="stable")  # [..., V], most probable first
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_probs, axis=-1) - sorted_probs  # mass of the tokens ranked above each one
    keep_sorted = before < p  # a token is needed while the tokens above it have not reached p yet
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)  # back to token order
    return np.where(keep, logits, -np.inf)


def next_token_distribution(
    logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> np.ndarray:
    """The distribution a token is drawn from, ``[..., V]`` logits -> ``[..., V]`` probabilities.

    ``temperature=0`` is greedy: all mass on the most probable token (the first,
    if several tie).
    """
    logits = check_float("logits", logits)
    if temperature < 0:
        raise ValueError(f"temperature={temperature}; use 0 (greedy) or more")
    if temperature == 0:
        greedy = np.zeros_like(logits)
        np.put_along_axis(greedy, logits.argmax(axis=-1)[..., None], 1, axis=-1)
        return greedy
    logits = logits / temperature
    if top_k is not None:
        logits = filter_top_k(logits, top_k)
    if top_p is not None:
        logits = filter_top_p(logits, top_p)
    return softmax(logits)


def sample(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row of ``probs`` ``[B, V]``, drawn by inverting the cumulative distribution: ``[B]``.

    u is uniform on [0, total); the token is the first whose running sum exceeds
    u, so a token of probability 0 is never drawn.
    """
    cumulative = np.cumsum(probs, axis=-1)  # [B, V]
    u = rng.random(probs.shape[0]) * cumulative[:, -1]  # [B]
    return (cumulative <= u[:, None]).sum(axis=-1)  # [B, V] -> [B]


# ---------------------------------------------------------------------------
# Generating with the GPT
# ---------------------------------------------------------------------------


def generate(
    prompt: np.ndarray,
    params: GPTParams,
    cfg: GPTConfig,
    max_new_tokens: int,
    *,
    rng: np.random.Generator | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    use_cache: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Continue each prompt ``[B, T_0]`` by ``max_new_tokens`` tokens.

    Returns the ids ``[B, T_0 + n]`` and the logits each new token was chosen
    from ``[B, n, V]``. With ``use_cache`` (the default) the prompt is read once
    into a ``KVCache`` and each step feeds the model one token; without it, each
    step recomputes the whole sequence (slower, same logits). Sampling needs
    ``rng`` unless ``temperature`` is 0.
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens}; it must be at least 1")
    if rng is None and temperature != 0:
        raise ValueError("sampling needs a generator: pass rng=np.random.default_rng(seed), or temperature=0")
    if np.ndim(prompt) != 2 or np.shape(prompt)[1] < 1:
        raise ValueError(f"prompt has shape {np.shape(prompt)}; expected [B, T_0] with at least one token per row")
    total = prompt.shape[1] + max_new_tokens
    if cfg.position is Position.LEARNED and total > cfg.context:
        raise ValueError(f"{prompt.shape[1]} prompt tokens + {max_new_tokens} new ones = {total} positions, "
                         f"more than the model's {cfg.context}; shorten the prompt or generate fewer tokens")
    tokens = np.array(prompt, dtype=np.int64)  # [B, T_0]
    cache = init_kv_cache(cfg, tokens.shape[0], total, params.token_embed.dtype) if use_cache else None
    step_logits = []
    new = tokens  # what the model has not seen yet: the prompt first, then one token at a time
    for _ in range(max_new_tokens):
        logits = gpt(new if use_cache else tokens, params, cfg, cache)[:, -1]  # [B, T, V] -> [B, V]
        probs = next_token_distribution(logits, temperature, top_k, top_p)
        token = probs.argmax(axis=-1) if temperature == 0 else sample(probs, rng)  # [B]
        step_logits.append(logits)
        new = token[:, None]  # [B] -> [B, 1]
        tokens = np.concatenate([tokens, new], axis=1)  # [B, T] -> [B, T + 1]
    return tokens, np.stack(step_logits, axis=1)  # n x [B, V] -> [B, n, V]


# ---------------------------------------------------------------------------
# Beam search with the encoder-decoder Transformer
# ---------------------------------------------------------------------------


def length_penalty(length: int, alpha: float) -> float:
    """lp(Y) = ((5 + |Y|) / 6)^alpha, Wu et al. 2016, section 7; 1 for alpha = 0 (plain log-probability)."""
    return ((5 + length) / 6) ** alpha


def beam_search(
    src: np.ndarray,
    params: TransformerParams,
    cfg: TransformerConfig,
    *,
    bos: int,
    eos: int,
    beam_size: int,
    max_len: int,
    alpha: float = 0.0,
    src_is_pad: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """The best output for each source ``[B, T_s]`` by beam search: (token ids per row, their scores ``[B]``).

    At each step every live hypothesis is extended by every token; the
    ``beam_size`` best extensions by total log-probability are kept, and those
    that end in ``eos`` are set aside as finished (they use up their place in the
    beam). The search ends when no hypothesis is alive, after ``max_len`` tokens,
    or (with alpha = 0) once the best finished score beats every live one:
    adding tokens only lowers a score. The result is the finished hypothesis
    with the best score / lp(length) (a live one if none finished), without
    ``bos``, with its ``eos``. With ``beam_size`` >= V^max_len nothing is ever
    dropped and the search is exhaustive.
    """
    if beam_size < 1 or max_len < 1:
        raise ValueError(f"beam_size={beam_size} and max_len={max_len} must both be at least 1")
    results, scores = [], np.empty(src.shape[0])
    for i in range(src.shape[0]):
        pad = None if src_is_pad is None else src_is_pad[i : i + 1]
        memory = encode(src[i : i + 1], params, cfg, pad)  # [1, T_s, d]
        alive = [(0.0, [bos])]  # (sum of log-probabilities, tokens so far)
        finished = []
        for _ in range(max_len):
            hyps = np.array([tokens for _, tokens in alive])  # [n, t]
            n = len(alive)
            pads = None if pad is None else np.repeat(pad, n, axis=0)  # [n, T_s]
            logits, _ = decode(hyps, np.repeat(memory, n, axis=0), params, cfg, pads)  # [n, t, V]
            log_probs = log_softmax(logits[:, -1].astype(np.float64))  # [n, V]
            candidates = np.array([s for s, _ in alive])[:, None] + log_probs  # [n, V]
            best = np.argsort(-candidates, axis=None, kind="stable")[:beam_size]  # flat indices, best first
            alive = []
            for row, token in zip(*np.unravel_index(best, candidates.shape)):
                hypothesis = (float(candidates[row, token]), [*hyps[row], int(token)])
                (finished if token == eos else alive).append(hypothesis)
            if not alive:
                break
            if alpha == 0 and finished and max(s for s, _ in finished) >= max(s for s, _ in alive):
                break
        pool = finished or alive
        score, tokens = max(pool, key=lambda h: h[0] / length_penalty(len(h[1]) - 1, alpha))
        results.append(np.array(tokens[1:], dtype=np.int64))
        scores[i] = score / length_penalty(len(tokens) - 1, alpha)
    return results, scores


def sequence_log_prob(src: np.ndarray, out: np.ndarray, params: TransformerParams, cfg: TransformerConfig, bos: int) -> float:
    """log P(out | src) = sum_t log P(out_t | out_<t, src) under teacher forcing, for one source ``[T_s]``."""
    tgt_in = np.concatenate([[bos], out[:-1]])[None]  # [1, L]: shifted right
    logits, _ = decode(tgt_in, encode(src[None], params, cfg), params, cfg)  # [1, L, V]
    log_probs = log_softmax(logits[0])  # [L, V]
    return float(sum(log_probs[t, token] for t, token in enumerate(out)))
