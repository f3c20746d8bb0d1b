"""Attention for sequence to sequence: additive (Bahdanau) and multiplicative (Luong).

Instead of squeezing the source into one vector (``runnable.seq2seq``), the
decoder looks back at every encoder output h_s at every step. A score says how
well each source position matches the decoder's query q; a softmax turns the
scores into weights a_s; the context is the weighted average of the h_s.

Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning to Align
and Translate" (ICLR 2015), section 3.1 and appendix A.1.2, score with a small
feed-forward network (additive attention):

    score(q, h_s) = v^T tanh(W_q q + W_k h_s)                                  (B6)

Luong, Pham & Manning, "Effective Approaches to Attention-based Neural Machine
Translation" (EMNLP 2015), section 3.1, equation (8), add two multiplicative scores:

    score(q, h_s) = q^T h_s              dot                                   (L8)
    score(q, h_s) = q^T W_a h_s          general

and then (equations 7, 5 and 6)

    a_t(s)  = softmax_s(score(h_t, h_s))                                       (L7)
    c_t     = sum_s a_t(s) h_s
    h~_t    = tanh(W_c [c_t; h_t])                                             (L5)
    p(y_t)  = softmax(W_s h~_t)                                                (L6)

The decoder here is Luong's "global attention" decoder: the query is the
decoder's current state h_t, and any of the three scores can be plugged in (Luong
et al. compare all three; their "concat" score is Bahdanau's additive one).
Bahdanau et al. instead query with the previous state and feed the context into
the RNN; Luong's input feeding (h~_{t-1} as extra RNN input) is left out, which
keeps the decoder RNN independent of attention, so teacher forcing can attend
for all T steps at once.

Padding: a source position with ``src_is_pad`` True gets exactly zero weight
(its score is -inf before the softmax); a row with no real source token gets an
all-zero context rather than NaN. Shapes: B batch, S source length, T target
steps (queries), H hidden size, A attention size, V target vocabulary. Weights
multiply from the right (``x @ w``, ``w`` is [d_in, d_out]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from runnable._common import check_dtypes, check_mask, softmax
from runnable.rnn import State
from runnable.seq2seq import (
    CellKind,
    Seq2SeqParams,
    advance,
    decoder_states,
    encode,
    greedy_loop,
    hidden_of,
    init_seq2seq,
    project,
)


class Score(str, Enum):
    """The score functions: Bahdanau's additive (B6) and Luong's dot and general (L8)."""

    ADDITIVE = "additive"
    DOT = "dot"
    GENERAL = "general"


@dataclass
class AdditiveParams:
    """W_q, W_k and v of equation (B6)."""

    w_query: np.ndarray  # [H_q, A]
    w_key: np.ndarray  # [H_k, A]
    v: np.ndarray  # [A]


@dataclass
class AttentionParams:
    """Score parameters: ``additive`` for ADDITIVE, ``w_general`` (W_a) for GENERAL, neither for DOT."""

    score: Score
    additive: AdditiveParams | None = None
    w_general: np.ndarray | None = None  # [H_q, H_k]

    def __post_init__(self) -> None:
        """Fail at construction, with the fix, if the chosen score lacks its parameters."""
        self.score = Score(self.score)
        if self.score is Score.ADDITIVE and self.additive is None:
            raise ValueError("Score.ADDITIVE needs additive=AdditiveParams(...)")
        if self.score is Score.GENERAL and self.w_general is None:
            raise ValueError("Score.GENERAL needs w_general, an [H_q, H_k] array")


# ---------------------------------------------------------------------------
# Scores: query [B, T, H_q], keys [B, S, H_k] -> scores [B, T, S]
# ---------------------------------------------------------------------------


def project_keys(keys: np.ndarray, p: AdditiveParams) -> np.ndarray:
    """W_k h_s of equation (B6) for every source position.

    It does not depend on the decoder, so it is computed once per source
    sentence, not once per decoding step (Bahdanau et al., appendix A.1.2).
    """
    return keys @ p.w_key  # [B, S, H_k] -> [B, S, A]


def additive_scores(query: np.ndarray, projected_keys: np.ndarray, p: AdditiveParams) -> np.ndarray:
    """Equation (B6): v^T tanh(W_q q + W_k h_s), with W_k h_s from ``project_keys``."""
    projected_query = query @ p.w_query  # [B, T, H_q] -> [B, T, A]
    hidden = np.tanh(projected_query[:, :, None, :] + projected_keys[:, None, :, :])  # -> [B, T, S, A]
    return hidden @ p.v  # [B, T, S, A] -> [B, T, S]


def dot_scores(query: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Equation (L8), dot: q^T h_s. Needs H_q = H_k."""
    return query @ keys.transpose(0, 2, 1)  # [B, T, H] x [B, H, S] -> [B, T, S]


def general_scores(query: np.ndarray, keys: np.ndarray, w_general: np.ndarray) -> np.ndarray:
    """Equation (L8), general: q^T W_a h_s, a learned bilinear form."""
    return dot_scores(query @ w_general, keys)  # [B, T, H_q] -> [B, T, H_k] -> [B, T, S]


# ---------------------------------------------------------------------------
# Weights and context (L7)
# ---------------------------------------------------------------------------


def attention_weights(scores: np.ndarray, src_is_pad: np.ndarray | None = None) -> np.ndarray:
    """Equation (L7): softmax over source positions, padding excluded: [B, T, S] -> [B, T, S]."""
    if src_is_pad is not None:
        # -inf before the softmax gives padding exactly zero weight.
        scores = np.where(check_mask(src_is_pad, "src_is_pad")[:, None, :], -np.inf, scores)  # [B, 1, S] broadcast
    return softmax(scores, axis=-1)


def context(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """c_t = sum_s a_t(s) h_s: the weighted average of the encoder outputs."""
    return weights @ values  # [B, T, S] x [B, S, H_k] -> [B, T, H_k]


@dataclass
class Memory:
    """What the decoder attends to, prepared once per source batch."""

    values: np.ndarray  # [B, S, H_k], the encoder outputs h_s
    keys: np.ndarray  # [B, S, H_k] for DOT and GENERAL, [B, S, A] (W_k h_s) for ADDITIVE
    src_is_pad: np.ndarray | None  # [B, S]


def prepare_memory(encoder_outputs: np.ndarray, p: AttentionParams, src_is_pad: np.ndarray | None = None) -> Memory:
    """Precompute what does not change from one decoding step to the next."""
    keys = project_keys(encoder_outputs, p.additive) if p.score is Score.ADDITIVE else encoder_outputs
    return Memory(encoder_outputs, keys, src_is_pad)


def attend(query: np.ndarray, memory: Memory, p: AttentionParams) -> tuple[np.ndarray, np.ndarray]:
    """Score, softmax, average: query [B, T, H_q] -> (context [B, T, H_k], weights [B, T, S])."""
    check_dtypes(query=query, memory=memory.values)
    if p.score is Score.ADDITIVE:
        scores = additive_scores(query, memory.keys, p.additive)
    elif p.score is Score.GENERAL:
        scores = general_scores(query, memory.keys, p.w_general)
    else:
        scores = dot_scores(query, memory.keys)
    weights = attention_weights(scores, memory.src_is_pad)  # [B, T, S]
    return context(weights, memory.values), weights


# ---------------------------------------------------------------------------
# The attention decoder (L5, L6)
# ---------------------------------------------------------------------------


@dataclass
class AttentionSeq2SeqParams:
    """The plain seq2seq model plus the attention scores and W_c of equation (L5)."""

    base: Seq2SeqParams  # embeddings, encoder, decoder; base.w_out [H, V] is W_s of (L6)
    attention: AttentionParams
    w_combine: np.ndarray  # [H_k + H, H], W_c of (L5)


def init_attention_seq2seq(
    src_vocab: int,
    tgt_vocab: int,
    embed_dim: int,
    hidden: int,
    rng: np.random.Generator,
    score: Score = Score.ADDITIVE,
    cell: CellKind = CellKind.GRU,
    attention_dim: int | None = None,
    dtype=np.float64,
) -> AttentionSeq2SeqParams:
    """Random parameters; encoder and decoder share the hidden size H, so H_q = H_k = H."""
    base = init_seq2seq(src_vocab, tgt_vocab, embed_dim, hidden, rng, cell, dtype)
    a = attention_dim or hidden

    def uniform(fan_in: int, *shape: int) -> np.ndarray:
        bound = 1 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(dtype)

    score = Score(score)
    attention = AttentionParams(
        score,
        additive=AdditiveParams(uniform(hidden, hidden, a), uniform(hidden, hidden, a), uniform(a, a))
        if score is Score.ADDITIVE
        else None,
        w_general=uniform(hidden, hidden, hidden) if score is Score.GENERAL else None,
    )
    return AttentionSeq2SeqParams(base, attention, uniform(2 * hidden, 2 * hidden, hidden))


def attentional_output(
    h: np.ndarray, memory: Memory, params: AttentionSeq2SeqParams
) -> tuple[np.ndarray, np.ndarray]:
    """Equations (L7), (L5), (L6): decoder states [B, T, H] -> (logits [B, T, V], weights [B, T, S])."""
    c, weights = attend(h, memory, params.attention)  # [B, T, H] -> [B, T, H_k], [B, T, S]
    combined = np.concatenate([c, h], axis=-1)  # [B, T, H_k] + [B, T, H] -> [B, T, H_k + H]
    h_tilde = np.tanh(combined @ params.w_combine)  # [B, T, H_k + H] -> [B, T, H]
    return project(h_tilde, params.base), weights  # [B, T, H] -> [B, T, V]


def encode_for_attention(
    src: np.ndarray, params: AttentionSeq2SeqParams, src_is_pad: np.ndarray | None = None
) -> tuple[Memory, State]:
    """Run the encoder; keep all its outputs as memory and its final state for the decoder."""
    outputs, state = encode(src, params.base, src_is_pad)  # [B, S] -> [B, S, H], state
    return prepare_memory(outputs, params.attention, src_is_pad), state


def attention_seq2seq_logits(
    src: np.ndarray, tgt_in: np.ndarray, params: AttentionSeq2SeqParams, src_is_pad: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Teacher forcing: src [B, S], tgt_in [B, T] -> (logits [B, T, V], weights [B, T, S])."""
    memory, state = encode_for_attention(src, params, src_is_pad)
    h = decoder_states(tgt_in, state, params.base)  # [B, T] -> [B, T, H]
    return attentional_output(h, memory, params)


def attention_decoder_step(
    token: np.ndarray, state: State, memory: Memory, params: AttentionSeq2SeqParams
) -> tuple[np.ndarray, State, np.ndarray]:
    """One step: previous ids [B] -> (logits [B, V], new state, weights [B, S])."""
    state = advance(token, state, params.base)
    h = hidden_of(state)[:, None, :]  # [B, H] -> [B, 1, H], a single query
    logits, weights = attentional_output(h, memory, params)  # [B, 1, V], [B, 1, S]
    return logits[:, 0], state, weights[:, 0]  # -> [B, V], [B, S]


def greedy_decode_attention(
    src: np.ndarray,
    params: AttentionSeq2SeqParams,
    *,
    bos: int,
    eos: int,
    max_len: int,
    pad: int = 0,
    src_is_pad: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy decoding with attention: src [B, S] -> (ids [B, L], weights [B, L, S]).

    The weights of each step are returned too: plotted as a [L, S] heatmap they
    show which source position each output token looked at (the alignment of
    Bahdanau et al., figure 3). Rows past their ``eos`` hold ``pad`` and zero weights.
    """
    memory, state = encode_for_attention(src, params, src_is_pad)
    all_weights = []

    def step(token: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        logits, state, weights = attention_decoder_step(token, state, memory, params)
        all_weights.append(weights)
        return logits, state

    ids = greedy_loop(step, state, src.shape[0], bos=bos, eos=eos, max_len=max_len, pad=pad)
    weights = np.stack(all_weights, axis=1)  # L x [B, S] -> [B, L, S]
    finished_before = np.cumsum(ids == eos, axis=1) - (ids == eos) > 0  # [B, L], True after a row's eos
    weights[finished_before] = 0
    return ids, weights
