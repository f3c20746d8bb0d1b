"""Gated recurrent unit: a cell and a layer over a sequence.

Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for
Statistical Machine Translation", EMNLP 2014, equations (5)-(8): a reset gate r
and an update gate z, and no separate cell state. Written as in PyTorch's
``nn.GRU`` documentation, whose weights this module reads unchanged:

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)       reset gate      (1)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)       update gate     (2)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))  candidate       (3)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}                                      (4)

One difference from the paper: Cho et al. reset the state before multiplying,
W_hn (r_t * h_{t-1}); PyTorch (and cuDNN) multiply first, r_t * (W_hn h_{t-1} + b_hn).
We follow PyTorch so that the weights copy across; this is why b_hn cannot be
merged into b_in. The gates are stacked in the order r, z, n: ``weight_ih`` is
[3H, I], ``weight_hh`` is [3H, H], ``bias_ih`` and ``bias_hh`` are [3H].

Shapes: B batch, T time steps, I input features, H hidden units.
"""

from __future__ import annotations

import numpy as np

from runnable._common import sigmoid
from runnable.rnn import CellParams, init_cell, initial_state, project_inputs, scan, time_major

GATES = 3  # r, z, n


def init_gru(input_size: int, hidden_size: int, rng: np.random.Generator, dtype=np.float64) -> CellParams:
    """Random GRU parameters, initialized as PyTorch does."""
    return init_cell(input_size, hidden_size, rng, gates=GATES, dtype=dtype)


def gru_gates(
    x_proj: np.ndarray, h: np.ndarray, params: CellParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Equations (1)-(3): the gates r, z, the candidate n, and W_hn h + b_hn (kept for backprop)."""
    h_proj = h @ params.weight_hh.T + params.bias_hh  # [B, H] -> [B, 3H]
    x_r, x_z, x_n = np.split(x_proj, GATES, axis=-1)  # [B, 3H] -> 3 x [B, H]
    h_r, h_z, h_n = np.split(h_proj, GATES, axis=-1)  # [B, 3H] -> 3 x [B, H]
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)  # r gates the hidden half only, bias b_hn included
    return r, z, n, h_n


def gru_step(x_proj: np.ndarray, h: np.ndarray, params: CellParams) -> np.ndarray:
    """Equations (1)-(4) given the input half W_i* x_t + b_i* already computed."""
    _, z, n, _ = gru_gates(x_proj, h, params)
    return (1 - z) * n + z * h  # equation (4)


def gru_cell(x: np.ndarray, h: np.ndarray, params: CellParams) -> np.ndarray:
    """One GRU step: x [B, I], h [B, H] -> h' [B, H]."""
    x_proj = x @ params.weight_ih.T + params.bias_ih  # [B, I] -> [B, 3H]
    return gru_step(x_proj, h, params)


def gru_layer(
    x: np.ndarray,
    params: CellParams,
    h0: np.ndarray | None = None,
    *,
    batch_first: bool = False,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The GRU along a sequence: x [T, B, I] -> (outputs [T, B, H], h_T [B, H]).

    ``h0`` defaults to zeros; ``lengths`` handles a padded batch (see
    ``runnable.rnn.scan``). Bidirectional: ``rnn.bidirectional(gru_layer, ...)``.
    """
    x = time_major(x, batch_first)  # [B, T, I] -> [T, B, I] if batch_first
    x_proj = project_inputs(x, params)  # [T, B, I] -> [T, B, 3H]
    h = initial_state(x, params.hidden_size, h0)  # [B, H]

    def step(x_t: np.ndarray, h: np.ndarray) -> np.ndarray:
        return gru_step(x_t, h, params)

    outputs, h = scan(step, x_proj, h, lengths)
    return time_major(outputs, batch_first), h  # [T, B, H] -> [B, T, H] if batch_first
