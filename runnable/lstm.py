"""Long short-term memory: a cell and a layer over a sequence.

Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8)
(1997), with the forget gate of Gers, Schmidhuber & Cummins, "Learning to
Forget: Continual Prediction with LSTM", Neural Computation 12(10) (2000). The
equations are written as in PyTorch's ``nn.LSTM`` documentation, whose weights
this module reads unchanged:

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)       input gate      (1)
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)       forget gate     (2)
    g_t = tanh   (W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)       candidate cell  (3)
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)       output gate     (4)
    c_t = f_t * c_{t-1} + i_t * g_t                                            (5)
    h_t = o_t * tanh(c_t)                                                      (6)

The four gates are stacked in the order i, f, g, o: ``weight_ih`` is [4H, I],
``weight_hh`` is [4H, H], ``bias_ih`` and ``bias_hh`` are [4H]. The cell state
c is updated only by a multiply and an add (5), which is why gradients survive
many more steps than through the repeated tanh of the vanilla RNN.

Shapes: B batch, T time steps, I input features, H hidden units.
"""

from __future__ import annotations

import numpy as np

from runnable._common import sigmoid
from runnable.rnn import CellParams, init_cell, initial_state, project_inputs, scan, time_major

GATES = 4  # i, f, g, o


def init_lstm(input_size: int, hidden_size: int, rng: np.random.Generator, dtype=np.float64) -> CellParams:
    """Random LSTM parameters, initialized as PyTorch does."""
    return init_cell(input_size, hidden_size, rng, gates=GATES, dtype=dtype)


def lstm_step(
    x_proj: np.ndarray, state: tuple[np.ndarray, np.ndarray], params: CellParams
) -> tuple[np.ndarray, np.ndarray]:
    """Equations (1)-(6) given the input half W_i* x_t + b_i* already computed."""
    h, c = state
    gates = x_proj + h @ params.weight_hh.T + params.bias_hh  # [B, 4H]
    i, f, g, o = np.split(gates, GATES, axis=-1)  # [B, 4H] -> 4 x [B, H]
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c


def lstm_cell(
    x: np.ndarray, state: tuple[np.ndarray, np.ndarray], params: CellParams
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step: x [B, I], (h [B, H], c [B, H]) -> (h', c')."""
    x_proj = x @ params.weight_ih.T + params.bias_ih  # [B, I] -> [B, 4H]
    return lstm_step(x_proj, state, params)


def lstm_layer(
    x: np.ndarray,
    params: CellParams,
    state: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    batch_first: bool = False,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The LSTM along a sequence: x [T, B, I] -> (outputs [T, B, H], (h_T, c_T) [B, H] each).

    ``state`` = (h0, c0) defaults to zeros; ``lengths`` handles a padded batch
    (see ``runnable.rnn.scan``). Bidirectional: ``rnn.bidirectional(lstm_layer, ...)``.
    """
    x = time_major(x, batch_first)  # [B, T, I] -> [T, B, I] if batch_first
    x_proj = project_inputs(x, params)  # [T, B, I] -> [T, B, 4H]
    h0, c0 = (None, None) if state is None else state
    state = (initial_state(x, params.hidden_size, h0), initial_state(x, params.hidden_size, c0))  # [B, H] each

    def step(x_t: np.ndarray, state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return lstm_step(x_t, state, params)

    outputs, state = scan(step, x_proj, state, lengths)
    return time_major(outputs, batch_first), state  # [T, B, H] -> [B, T, H] if batch_first
