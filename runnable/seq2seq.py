"""Sequence to sequence: an RNN encoder, an RNN decoder, and greedy decoding.

Sutskever, Vinyals & Le, "Sequence to Sequence Learning with Neural Networks"
(NeurIPS 2014), and Cho et al., "Learning Phrase Representations using RNN
Encoder-Decoder for Statistical Machine Translation" (EMNLP 2014): an encoder
RNN reads the source x_1..x_S and its final state becomes the decoder's initial
state; the decoder then models the target one token at a time (Sutskever et al.,
equation 1),

    p(y_1..y_T | x_1..x_S) = prod_t p(y_t | v, y_1..y_{t-1})                   (1)

where v is the encoder's final state and each factor is a softmax over the
target vocabulary of an output projection of the decoder's hidden state. The
whole source must squeeze through v, a fixed-size vector; attention
(``runnable.seq2seq_attention``) removes that bottleneck.

Either recurrent cell works (``CellKind``): the GRU of Cho et al. or the LSTM of
Sutskever et al. (who used four stacked layers and read the source backwards;
reverse ``src`` yourself to try the latter). Training is not shown here; the
functions give the logits a cross-entropy loss needs, and greedy decoding.

Conventions as in the Transformer modules: token ids are batch first [B, S];
``src_is_pad`` [B, S] is True at padding; the output projection multiplies from
the right (``h @ w_out``, ``w_out`` is [H, V]). The recurrent cells keep
PyTorch's layout (see ``runnable.rnn``). Shapes: B batch, S source length,
T target length, E embedding size, H hidden size, V target vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from runnable._common import lookup
from runnable.gru import GATES as GRU_GATES
from runnable.gru import gru_cell, gru_layer
from runnable.lstm import GATES as LSTM_GATES
from runnable.lstm import lstm_cell, lstm_layer
from runnable.rnn import CellParams, State, init_cell


class CellKind(str, Enum):
    """Which recurrent cell the encoder and decoder use."""

    GRU = "gru"
    LSTM = "lstm"


_GATES = {CellKind.GRU: GRU_GATES, CellKind.LSTM: LSTM_GATES}
_LAYERS: dict[CellKind, Callable] = {CellKind.GRU: gru_layer, CellKind.LSTM: lstm_layer}
_CELLS: dict[CellKind, Callable] = {CellKind.GRU: gru_cell, CellKind.LSTM: lstm_cell}


@dataclass
class Seq2SeqParams:
    """Embeddings, the two recurrent cells, and the output projection."""

    cell: CellKind
    src_embed: np.ndarray  # [V_src, E]
    tgt_embed: np.ndarray  # [V, E]
    encoder: CellParams  # input E, hidden H
    decoder: CellParams  # input E, hidden H
    w_out: np.ndarray  # [H, V]
    b_out: np.ndarray  # [V]

    def __post_init__(self) -> None:
        """Catch a GRU's weights paired with CellKind.LSTM (or the reverse) before they run."""
        self.cell = CellKind(self.cell)
        for name in ("encoder", "decoder"):
            cell_params = getattr(self, name)
            gates = cell_params.weight_hh.shape[0] // cell_params.hidden_size
            if gates != _GATES[self.cell]:
                raise ValueError(
                    f"{name} has {gates} gate blocks but cell={self.cell.value!r} needs {_GATES[self.cell]}; "
                    "build it with init_cell(..., gates=...) for the right cell"
                )


def init_seq2seq(
    src_vocab: int,
    tgt_vocab: int,
    embed_dim: int,
    hidden: int,
    rng: np.random.Generator,
    cell: CellKind = CellKind.GRU,
    dtype=np.float64,
) -> Seq2SeqParams:
    """Random parameters: N(0, 1) embeddings (as ``nn.Embedding``), PyTorch's uniform elsewhere."""
    cell = CellKind(cell)
    bound = 1 / math.sqrt(hidden)
    return Seq2SeqParams(
        cell=cell,
        src_embed=rng.normal(size=(src_vocab, embed_dim)).astype(dtype),
        tgt_embed=rng.normal(size=(tgt_vocab, embed_dim)).astype(dtype),
        encoder=init_cell(embed_dim, hidden, rng, _GATES[cell], dtype),
        decoder=init_cell(embed_dim, hidden, rng, _GATES[cell], dtype),
        w_out=rng.uniform(-bound, bound, size=(hidden, tgt_vocab)).astype(dtype),
        b_out=rng.uniform(-bound, bound, size=tgt_vocab).astype(dtype),
    )


def hidden_of(state: State) -> np.ndarray:
    """The hidden state h: the state itself for the GRU, the first of (h, c) for the LSTM."""
    return state[0] if isinstance(state, tuple) else state


def _lengths(src: np.ndarray, src_is_pad: np.ndarray | None) -> np.ndarray | None:
    """Source lengths from the padding mask; padding must come after the tokens."""
    if src_is_pad is None:
        return None
    src_is_pad = np.asarray(src_is_pad, dtype=bool)
    if src_is_pad.shape != src.shape:
        raise ValueError(f"src_is_pad has shape {src_is_pad.shape} but src has {src.shape}; give one flag per token")
    lengths = (~src_is_pad).sum(axis=1)  # [B, S] -> [B]
    if np.any(lengths == 0):
        raise ValueError(f"rows {np.flatnonzero(lengths == 0).tolist()} of src are all padding; drop them first")
    if np.any(src_is_pad[:, :-1] & ~src_is_pad[:, 1:]):
        raise ValueError("src_is_pad has a token after padding; pad at the end of each sequence only")
    return lengths


def encode(src: np.ndarray, params: Seq2SeqParams, src_is_pad: np.ndarray | None = None) -> tuple[np.ndarray, State]:
    """Read the source: ids [B, S] -> (outputs [B, S, H], final state v).

    With ``src_is_pad``, each row's final state is taken at its own last token,
    so padding never reaches the decoder; padded outputs are zero.
    """
    x = lookup(params.src_embed, src, "src")  # [B, S] -> [B, S, E]
    layer = _LAYERS[params.cell]
    return layer(x, params.encoder, None, batch_first=True, lengths=_lengths(src, src_is_pad))


def project(h: np.ndarray, params: Seq2SeqParams) -> np.ndarray:
    """Logits of p(y_t | ...) in equation (1) from the decoder's hidden state."""
    return h @ params.w_out + params.b_out  # [..., H] -> [..., V]


def decoder_states(tgt_in: np.ndarray, state: State, params: Seq2SeqParams) -> np.ndarray:
    """The decoder RNN over the true previous tokens: ids [B, T] -> hidden states [B, T, H].

    ``tgt_in`` is the target shifted right (BOS first); ``state`` is the
    encoder's final state v. Training uses this: all T steps in one layer pass.
    """
    y = lookup(params.tgt_embed, tgt_in, "tgt_in")  # [B, T] -> [B, T, E]
    outputs, _ = _LAYERS[params.cell](y, params.decoder, state, batch_first=True)  # [B, T, E] -> [B, T, H]
    return outputs


def decode_teacher_forced(tgt_in: np.ndarray, state: State, params: Seq2SeqParams) -> np.ndarray:
    """Logits at every target position given the true previous tokens: ids [B, T] -> [B, T, V]."""
    return project(decoder_states(tgt_in, state, params), params)  # [B, T, H] -> [B, T, V]


def seq2seq_logits(
    src: np.ndarray, tgt_in: np.ndarray, params: Seq2SeqParams, src_is_pad: np.ndarray | None = None
) -> np.ndarray:
    """Encoder then teacher-forced decoder: src [B, S], tgt_in [B, T] -> logits [B, T, V]."""
    _, state = encode(src, params, src_is_pad)
    return decode_teacher_forced(tgt_in, state, params)


def advance(token: np.ndarray, state: State, params: Seq2SeqParams) -> State:
    """Feed the previous token ids [B] to the decoder cell: one step of the recurrence."""
    y = lookup(params.tgt_embed, token, "token")  # [B] -> [B, E]
    return _CELLS[params.cell](y, state, params.decoder)


def decoder_step(token: np.ndarray, state: State, params: Seq2SeqParams) -> tuple[np.ndarray, State]:
    """One decoding step: previous token ids [B] -> (logits [B, V], new state)."""
    state = advance(token, state, params)
    return project(hidden_of(state), params), state  # [B, H] -> [B, V]


def greedy_loop(
    step: Callable[[np.ndarray, State], tuple[np.ndarray, State]],
    state: State,
    batch: int,
    *,
    bos: int,
    eos: int,
    max_len: int,
    pad: int,
) -> np.ndarray:
    """Feed each argmax back in until every row has produced ``eos`` or ``max_len`` tokens.

    Returns ids [B, L] with L <= max_len; a row keeps its ``eos`` and is ``pad``
    after it. Shared with the attention decoder, which only changes ``step``.
    """
    if max_len < 1:
        raise ValueError(f"max_len is {max_len}; it must be at least 1")
    out = np.full((batch, max_len), pad, dtype=np.int64)  # [B, max_len]
    token = np.full(batch, bos, dtype=np.int64)  # [B]
    done = np.zeros(batch, dtype=bool)  # [B]
    for t in range(max_len):
        logits, state = step(token, state)  # [B] -> [B, V]
        token = logits.argmax(axis=-1)  # [B, V] -> [B]
        out[:, t] = np.where(done, pad, token)  # [B]; rows already finished get pad
        done |= token == eos
        if done.all():
            return out[:, : t + 1]
    return out


def greedy_decode(
    src: np.ndarray,
    params: Seq2SeqParams,
    *,
    bos: int,
    eos: int,
    max_len: int,
    pad: int = 0,
    src_is_pad: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy decoding of equation (1): at each step take the most probable token.

    src [B, S] -> ids [B, L], L <= max_len, ``pad`` after each row's ``eos``.
    Greedy is not the most probable sequence (Sutskever et al. used a small beam
    search), but it is deterministic and a common baseline.
    """
    _, state = encode(src, params, src_is_pad)

    def step(token: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        return decoder_step(token, state, params)

    return greedy_loop(step, state, src.shape[0], bos=bos, eos=eos, max_len=max_len, pad=pad)
