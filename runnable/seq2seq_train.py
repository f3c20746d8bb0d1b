"""Training the attention seq2seq model: backpropagation through time, by hand.

Backpropagation through time (Werbos, "Backpropagation Through Time: What It
Does and How to Do It", Proc. IEEE 78(10), 1990) unrolls the recurrence into one
deep network with shared weights and applies the chain rule backwards from the
last step: the gradient reaching h_{t-1} is what step t sends back plus what
the output at t-1 contributes, and each weight's gradient is the sum over steps.

This module trains ``runnable.seq2seq_attention`` (GRU encoder and decoder,
any of the three scores) to reverse a sequence, the task on which Bahdanau et
al.'s alignment picture is easiest to read: output i must look at input S-1-i,
so the learned attention weights form an anti-diagonal.

    python -m runnable.seq2seq_train [--seed N] [--steps N] [--score additive|dot|general] [--target F]

It ends with the exact-match accuracy of greedy decoding on 1,000 held-out
sequences and exits 1 if that is below ``--target`` (default 99%).

Each ``*_forward`` returns its result and a cache; the matching ``*_backward``
takes the gradient of the loss with respect to that result and returns the
gradients of its inputs and parameters. Shapes: B batch, S source length,
T target length, E embedding size, H hidden size, A attention size, V vocabulary.
Gradients are checked against finite differences and against PyTorch's autograd
in ``tests/runnable/test_seq2seq_train.py``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace

import numpy as np

from runnable._common import lookup
from runnable.adam import adam_step, clip_gradients, init_adam
from runnable.backward import cross_entropy, flat, softmax_backward
from runnable.gru import GATES, gru_gates
from runnable.rnn import CellParams, initial_state, project_inputs
from runnable.seq2seq import CellKind
from runnable.seq2seq_attention import (
    AdditiveParams,
    AttentionParams,
    AttentionSeq2SeqParams,
    Score,
    attention_weights,
    greedy_decode_attention,
    init_attention_seq2seq,
)

# ---------------------------------------------------------------------------
# The GRU layer, forward with a cache and backward through time
# ---------------------------------------------------------------------------


def gru_layer_forward(x: np.ndarray, params: CellParams, h0: np.ndarray | None = None):
    """``gru.gru_layer`` (time-major, no padding) keeping what the backward pass needs."""
    x_proj = project_inputs(x, params)  # [T, B, I] -> [T, B, 3H]
    h = initial_state(x, params.hidden_size, h0)  # [B, H]
    outputs, steps = [], []
    for t in range(x.shape[0]):
        r, z, n, h_n = gru_gates(x_proj[t], h, params)  # 4 x [B, H]
        steps.append((r, z, n, h_n, h))
        h = (1 - z) * n + z * h  # equation (4) of runnable.gru
        outputs.append(h)
    return np.stack(outputs), h, (x, params, steps)  # T x [B, H] -> [T, B, H]


def gru_layer_backward(d_outputs: np.ndarray, d_h_last: np.ndarray, cache):
    """Gradients of a GRU layer: (d outputs [T, B, H], d h_T [B, H]) -> (d x [T, B, I], d h0 [B, H], d params).

    Going backwards, the gradient carried in ``dh`` is everything that step t's
    state influences: its own output and, through the recurrence, all later ones.
    """
    x, params, steps = cache
    hidden = params.hidden_size
    d_x_proj = np.empty(x.shape[:2] + (GATES * hidden,), dtype=x.dtype)  # [T, B, 3H]
    d_weight_hh = np.zeros_like(params.weight_hh)  # [3H, H]
    d_bias_hh = np.zeros_like(params.bias_hh)  # [3H]
    dh = d_h_last
    for t in reversed(range(len(steps))):
        r, z, n, h_n, h_prev = steps[t]
        dh = dh + d_outputs[t]
        # h = (1 - z) n + z h_prev
        d_n = dh * (1 - z)
        d_z = dh * (h_prev - n)
        # n = tanh(x_n + r h_n), r = sigmoid(.), z = sigmoid(.)
        d_n_pre = d_n * (1 - n * n)
        d_r_pre = d_n_pre * h_n * r * (1 - r)
        d_z_pre = d_z * z * (1 - z)
        d_x_proj[t] = np.concatenate([d_r_pre, d_z_pre, d_n_pre], axis=-1)  # 3 x [B, H] -> [B, 3H]
        d_h_proj = np.concatenate([d_r_pre, d_z_pre, d_n_pre * r], axis=-1)  # 3 x [B, H] -> [B, 3H]
        d_weight_hh += d_h_proj.T @ h_prev  # [3H, B] x [B, H] -> [3H, H]
        d_bias_hh += d_h_proj.sum(axis=0)  # [B, 3H] -> [3H]
        dh = dh * z + d_h_proj @ params.weight_hh  # [B, 3H] x [3H, H] -> [B, H]
    grads = CellParams(
        weight_ih=flat(d_x_proj).T @ flat(x),  # [3H, T*B] x [T*B, I] -> [3H, I]
        weight_hh=d_weight_hh,
        bias_ih=d_x_proj.sum(axis=(0, 1)),  # [T, B, 3H] -> [3H]
        bias_hh=d_bias_hh,
    )
    return d_x_proj @ params.weight_ih, dh, grads  # [T, B, 3H] x [3H, I] -> [T, B, I]


# ---------------------------------------------------------------------------
# Scores, softmax and the attentional output, forward and backward
# ---------------------------------------------------------------------------


def scores_forward(query: np.ndarray, keys: np.ndarray, p: AttentionParams):
    """Scores [B, T, S] of ``seq2seq_attention`` from the raw encoder outputs, with a cache."""
    if p.score is Score.ADDITIVE:
        a = p.additive
        hidden = np.tanh((query @ a.w_query)[:, :, None, :] + (keys @ a.w_key)[:, None, :, :])  # -> [B, T, S, A]
        return hidden @ a.v, (query, keys, p, hidden)  # [B, T, S, A] -> [B, T, S]
    projected = query if p.score is Score.DOT else query @ p.w_general  # [B, T, H_q] -> [B, T, H_k]
    return projected @ keys.transpose(0, 2, 1), (query, keys, p, projected)  # -> [B, T, S]


def scores_backward(d_scores: np.ndarray, cache):
    """(d scores [B, T, S]) -> (d query [B, T, H_q], d keys [B, S, H_k], d score parameters)."""
    query, keys, p, saved = cache
    if p.score is Score.ADDITIVE:
        a, hidden = p.additive, saved
        d_v = d_scores.reshape(-1) @ flat(hidden)  # [B*T*S] x [B*T*S, A] -> [A]
        d_pre = d_scores[..., None] * a.v * (1 - hidden * hidden)  # [B, T, S, 1] * [A] -> [B, T, S, A]
        d_query_proj = d_pre.sum(axis=2)  # [B, T, S, A] -> [B, T, A]
        d_keys_proj = d_pre.sum(axis=1)  # [B, T, S, A] -> [B, S, A]
        grads = AttentionParams(
            p.score,
            additive=AdditiveParams(
                w_query=flat(query).T @ flat(d_query_proj),  # [H_q, B*T] x [B*T, A] -> [H_q, A]
                w_key=flat(keys).T @ flat(d_keys_proj),  # [H_k, B*S] x [B*S, A] -> [H_k, A]
                v=d_v,
            ),
        )
        return d_query_proj @ a.w_query.T, d_keys_proj @ a.w_key.T, grads  # [B, *, A] -> [B, *, H]
    projected = saved
    d_projected = d_scores @ keys  # [B, T, S] x [B, S, H_k] -> [B, T, H_k]
    d_keys = d_scores.transpose(0, 2, 1) @ projected  # [B, S, T] x [B, T, H_k] -> [B, S, H_k]
    if p.score is Score.DOT:
        return d_projected, d_keys, AttentionParams(Score.DOT)
    d_w_general = flat(query).T @ flat(d_projected)  # [H_q, B*T] x [B*T, H_k] -> [H_q, H_k]
    return d_projected @ p.w_general.T, d_keys, AttentionParams(Score.GENERAL, w_general=d_w_general)


def attentional_output_forward(h: np.ndarray, encoder_outputs: np.ndarray, params: AttentionSeq2SeqParams):
    """``seq2seq_attention.attentional_output`` with a cache: (h [B, T, H], h_s [B, S, H]) -> logits [B, T, V]."""
    scores, score_cache = scores_forward(h, encoder_outputs, params.attention)  # [B, T, S]
    weights = attention_weights(scores)  # [B, T, S]
    context = weights @ encoder_outputs  # [B, T, S] x [B, S, H] -> [B, T, H]
    combined = np.concatenate([context, h], axis=-1)  # -> [B, T, 2H]
    h_tilde = np.tanh(combined @ params.w_combine)  # [B, T, 2H] -> [B, T, H]
    logits = h_tilde @ params.base.w_out + params.base.b_out  # [B, T, H] -> [B, T, V]
    return logits, (encoder_outputs, params, score_cache, weights, combined, h_tilde)


def attentional_output_backward(d_logits: np.ndarray, cache):
    """(d logits [B, T, V]) -> (d h [B, T, H], d h_s [B, S, H], d attention params, d W_c, d w_out, d b_out)."""
    encoder_outputs, params, score_cache, weights, combined, h_tilde = cache
    d_w_out = flat(h_tilde).T @ flat(d_logits)  # [H, B*T] x [B*T, V] -> [H, V]
    d_b_out = d_logits.sum(axis=(0, 1))  # [B, T, V] -> [V]
    d_pre = (d_logits @ params.base.w_out.T) * (1 - h_tilde * h_tilde)  # [B, T, V] -> [B, T, H]
    d_w_combine = flat(combined).T @ flat(d_pre)  # [2H, B*T] x [B*T, H] -> [2H, H]
    d_combined = d_pre @ params.w_combine.T  # [B, T, H] -> [B, T, 2H]
    d_context, d_h = np.split(d_combined, [encoder_outputs.shape[-1]], axis=-1)  # -> [B, T, H] x 2
    d_weights = d_context @ encoder_outputs.transpose(0, 2, 1)  # [B, T, H] x [B, H, S] -> [B, T, S]
    d_values = weights.transpose(0, 2, 1) @ d_context  # [B, S, T] x [B, T, H] -> [B, S, H]
    d_query, d_keys, d_attention = scores_backward(softmax_backward(d_weights, weights), score_cache)
    return d_h + d_query, d_values + d_keys, d_attention, d_w_combine, d_w_out, d_b_out


# ---------------------------------------------------------------------------
# The whole model: loss and gradients
# ---------------------------------------------------------------------------


def loss_and_grads(
    src: np.ndarray, tgt_in: np.ndarray, tgt_out: np.ndarray, params: AttentionSeq2SeqParams
) -> tuple[float, AttentionSeq2SeqParams]:
    """Mean cross-entropy of ``tgt_out`` under teacher forcing with ``tgt_in``, and its gradient.

    The gradient has the same structure as ``params``, ready for ``adam.adam_step``.
    GRU cells and unpadded batches only: that is all the demo needs.
    """
    base = params.base
    if base.cell is not CellKind.GRU:
        raise ValueError(
            f"training supports CellKind.GRU only, not {base.cell.value!r}; use init_attention_seq2seq(cell='gru')"
        )
    x_src = lookup(base.src_embed, src, "src").transpose(1, 0, 2)  # [B, S] -> [B, S, E] -> [S, B, E]
    enc_out, enc_last, enc_cache = gru_layer_forward(x_src, base.encoder)  # -> [S, B, H], [B, H]
    x_tgt = lookup(base.tgt_embed, tgt_in, "tgt_in").transpose(1, 0, 2)  # [B, T] -> [T, B, E]
    dec_out, _, dec_cache = gru_layer_forward(x_tgt, base.decoder, enc_last)  # -> [T, B, H]
    memory = enc_out.transpose(1, 0, 2)  # [S, B, H] -> [B, S, H]
    logits, out_cache = attentional_output_forward(dec_out.transpose(1, 0, 2), memory, params)  # -> [B, T, V]
    loss, d_logits = cross_entropy(logits, tgt_out)

    d_h, d_memory, d_attention, d_w_combine, d_w_out, d_b_out = attentional_output_backward(d_logits, out_cache)
    zeros_last = np.zeros_like(enc_last)  # the decoder's final state feeds nothing
    d_x_tgt, d_enc_last, d_decoder = gru_layer_backward(d_h.transpose(1, 0, 2), zeros_last, dec_cache)
    d_x_src, _, d_encoder = gru_layer_backward(d_memory.transpose(1, 0, 2), d_enc_last, enc_cache)
    d_src_embed = np.zeros_like(base.src_embed)  # [V_src, E]
    np.add.at(d_src_embed, src.T, d_x_src)  # [S, B, E] summed into [V_src, E]
    d_tgt_embed = np.zeros_like(base.tgt_embed)  # [V, E]
    np.add.at(d_tgt_embed, tgt_in.T, d_x_tgt)  # [T, B, E] summed into [V, E]
    d_base = replace(
        base,
        src_embed=d_src_embed,
        tgt_embed=d_tgt_embed,
        encoder=d_encoder,
        decoder=d_decoder,
        w_out=d_w_out,
        b_out=d_b_out,
    )
    return float(loss), AttentionSeq2SeqParams(d_base, d_attention, d_w_combine)


# ---------------------------------------------------------------------------
# The demo: learn to reverse sequences, and look at the alignment
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReverseTask:
    """Sequences of ``length`` symbols 3..3+n_symbols-1; 0, 1, 2 are PAD, BOS and EOS."""

    length: int = 8
    n_symbols: int = 10
    pad: int = 0
    bos: int = 1
    eos: int = 2

    @property
    def vocab(self) -> int:
        """Vocabulary size: the symbols plus PAD, BOS and EOS."""
        return 3 + self.n_symbols

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(src [B, S], tgt_in [B, S + 1], tgt_out [B, S + 1]): the target is the reversed source and EOS."""
        src = rng.integers(3, self.vocab, size=(size, self.length))  # [B, S]
        target = np.concatenate([src[:, ::-1], np.full((size, 1), self.eos)], axis=1)  # [B, S + 1]
        tgt_in = np.concatenate([np.full((size, 1), self.bos), target[:, :-1]], axis=1)  # shifted right
        return src, tgt_in, target


def train(
    task: ReverseTask = ReverseTask(),
    *,
    seed: int = 0,
    steps: int = 400,
    batch_size: int = 64,
    hidden: int = 32,
    score: Score = Score.ADDITIVE,
    lr: float = 3e-3,
    max_norm: float = 1.0,
    log_every: int = 0,
) -> tuple[AttentionSeq2SeqParams, list[float]]:
    """Adam on freshly sampled batches, with clipped gradients and a learning rate that falls
    linearly to a tenth of ``lr``; returns the parameters and the loss of every step."""
    rng = np.random.default_rng(seed)
    params = init_attention_seq2seq(task.vocab, task.vocab, hidden, hidden, rng, score, CellKind.GRU)
    state = init_adam(params)
    losses = []
    for step in range(1, steps + 1):
        loss, grads = loss_and_grads(*task.batch(rng, batch_size), params)
        clip_gradients(grads, max_norm)
        adam_step(params, grads, state, lr * (1 - 0.9 * (step - 1) / steps), beta2=0.999, eps=1e-8)
        losses.append(loss)
        if log_every and step % log_every == 0:
            print(f"step {step:5d}  loss {np.mean(losses[-log_every:]):.4f}", flush=True)
    return params, losses


def exact_match(params: AttentionSeq2SeqParams, task: ReverseTask, src: np.ndarray) -> tuple[float, np.ndarray]:
    """Fraction of sources whose greedy decoding is exactly their reverse then EOS; also the weights [B, L, S]."""
    ids, weights = greedy_decode_attention(src, params, bos=task.bos, eos=task.eos, max_len=task.length + 1)
    expected = np.concatenate([src[:, ::-1], np.full((len(src), 1), task.eos)], axis=1)  # [B, S + 1]
    correct = ids.shape == expected.shape and np.all(ids == expected, axis=1)
    return float(np.mean(correct)), weights


def alignment_example(seed: int = 0, steps: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train briefly, then decode one held-out sequence: (source ids [S], output ids [L], weights [L, S]).

    The weights are the picture of Bahdanau et al.'s figure 3: row i shows where
    output token i looked in the source. For reversal, an anti-diagonal. A few
    seconds on one core; the same seed gives the same picture.
    """
    task = ReverseTask()
    params, _ = train(task, seed=seed, steps=steps, batch_size=32)
    src, _, _ = task.batch(np.random.default_rng(10_000 + seed), 1)  # [1, S]
    ids, weights = greedy_decode_attention(src, params, bos=task.bos, eos=task.eos, max_len=task.length + 1)
    return src[0], ids[0], weights[0]  # [S], [L], [L, S]


def main(argv: list[str] | None = None) -> int:
    """Train, print one alignment as text and the held-out exact match; exit 1 below ``--target``."""
    parser = argparse.ArgumentParser(description="Train the attention seq2seq model to reverse sequences.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--score", choices=[s.value for s in Score], default=Score.ADDITIVE.value)
    parser.add_argument("--target", type=float, default=0.99, help="held-out exact match needed to exit 0")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, not {args.steps}")
    task = ReverseTask()
    start = time.perf_counter()
    params, _ = train(task, seed=args.seed, steps=args.steps, score=Score(args.score), log_every=100)
    seconds = time.perf_counter() - start
    test_src, _, _ = task.batch(np.random.default_rng(10_000 + args.seed), 1000)
    accuracy, weights = exact_match(params, task, test_src)
    print("alignment of the first test sequence (rows: output steps, columns: source positions):")
    for row in weights[0]:
        print("  " + " ".join(f"{w:4.2f}" for w in row))
    print(f"held-out exact match {accuracy:.1%} after {args.steps} steps in {seconds:.1f} s")
    return 0 if accuracy >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
