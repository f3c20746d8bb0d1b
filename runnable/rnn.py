"""The vanilla (Elman) recurrent network: a cell, a layer over a sequence, a
bidirectional layer, and layers stacked on top of each other.

Elman, "Finding Structure in Time", Cognitive Science 14 (1990): the hidden state
at time t is computed from the input at time t and the hidden state at t-1,

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)                     (1)

Bidirectional layers: Schuster & Paliwal, "Bidirectional Recurrent Neural
Networks", IEEE Trans. Signal Processing 45(11) (1997): a second layer reads the
sequence backwards and its outputs are concatenated with the forward ones.

Parameters use PyTorch's names and layouts (``nn.RNN``): ``weight_ih`` is
[G*H, I], ``weight_hh`` is [G*H, H], and there are two biases, ``bias_ih`` and
``bias_hh``, of [G*H] each (G = 1 gate here, 4 for the LSTM, 3 for the GRU). Two
biases are redundant for the RNN (only their sum matters) but keeping both lets
the weights of a trained ``nn.RNN`` be copied in unchanged. The LSTM and GRU
modules reuse ``CellParams``, ``scan``, ``bidirectional`` and ``stacked`` from here.

Shapes: B batch, T time steps, I input features, H hidden units. Sequences are
time-major [T, B, I] as in PyTorch; ``batch_first=True`` takes and returns [B, T, ...].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from runnable._common import check_dtypes, check_float

State = np.ndarray | tuple[np.ndarray, ...]  # h for the RNN and GRU, (h, c) for the LSTM


class Nonlinearity(str, Enum):
    """The squashing function of equation (1); ``nn.RNN(nonlinearity=...)`` offers the same two."""

    TANH = "tanh"
    RELU = "relu"


@dataclass
class CellParams:
    """The four arrays of one recurrent cell, named and shaped as in PyTorch."""

    weight_ih: np.ndarray  # [G*H, I]
    weight_hh: np.ndarray  # [G*H, H]
    bias_ih: np.ndarray  # [G*H]
    bias_hh: np.ndarray  # [G*H]

    def __post_init__(self) -> None:
        """Reject mismatched shapes and dtypes here, not deep inside a time loop."""
        rows, hidden = self.weight_hh.shape
        if rows % hidden or self.weight_ih.shape[0] != rows:
            raise ValueError(
                f"weight_ih {self.weight_ih.shape} and weight_hh {self.weight_hh.shape} do not fit: "
                "both need G*H rows (G gates) and weight_hh needs H columns"
            )
        check_dtypes(weight_ih=self.weight_ih, weight_hh=self.weight_hh, bias_ih=self.bias_ih, bias_hh=self.bias_hh)
        if self.bias_ih.shape != (rows,) or self.bias_hh.shape != (rows,):
            raise ValueError(f"bias_ih and bias_hh must both have shape ({rows},)")

    @property
    def input_size(self) -> int:
        """I, the number of input features."""
        return self.weight_ih.shape[1]

    @property
    def hidden_size(self) -> int:
        """H, the number of hidden units (the gates stack G blocks of H rows)."""
        return self.weight_hh.shape[1]

    @property
    def dtype(self) -> np.dtype:
        """float32 or float64; inputs must match it."""
        return self.weight_ih.dtype


def init_cell(
    input_size: int, hidden_size: int, rng: np.random.Generator, gates: int = 1, dtype=np.float64
) -> CellParams:
    """Random parameters, uniform in [-1/sqrt(H), 1/sqrt(H)] as PyTorch initializes them."""
    bound = 1 / math.sqrt(hidden_size)
    rows = gates * hidden_size

    def uniform(*shape: int) -> np.ndarray:
        return rng.uniform(-bound, bound, size=shape).astype(dtype)

    return CellParams(uniform(rows, input_size), uniform(rows, hidden_size), uniform(rows), uniform(rows))


def project_inputs(x: np.ndarray, params: CellParams) -> np.ndarray:
    """W_ih x_t + b_ih for every time step in one matrix product.

    The input half of each gate does not depend on the hidden state, so it need
    not wait inside the time loop: one large product is much faster than T small ones.
    """
    check_dtypes(x=x, weight_ih=params.weight_ih)
    if x.ndim != 3 or x.shape[-1] != params.input_size:
        raise ValueError(f"x has shape {x.shape}; expected [T, B, {params.input_size}] (or [B, T, ...] with batch_first)")
    return x @ params.weight_ih.T + params.bias_ih  # [T, B, I] -> [T, B, G*H]


def rnn_step(x_proj: np.ndarray, h: np.ndarray, params: CellParams, nonlinearity=Nonlinearity.TANH) -> np.ndarray:
    """Equation (1) given the input half W_ih x_t + b_ih already computed."""
    pre = x_proj + h @ params.weight_hh.T + params.bias_hh  # [B, H]
    if Nonlinearity(nonlinearity) is Nonlinearity.RELU:
        return np.maximum(pre, 0)
    return np.tanh(pre)


def rnn_cell(x: np.ndarray, h: np.ndarray, params: CellParams, nonlinearity=Nonlinearity.TANH) -> np.ndarray:
    """One step of the Elman network, equation (1): x [B, I], h [B, H] -> h' [B, H]."""
    x_proj = x @ params.weight_ih.T + params.bias_ih  # [B, I] -> [B, H]
    return rnn_step(x_proj, h, params, nonlinearity)


def scan(
    step: Callable[[np.ndarray, State], State],
    x_proj: np.ndarray,
    state: State,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, State]:
    """Run ``state = step(x_proj[t], state)`` for t = 0..T-1 and collect the hidden states.

    With ``lengths`` (one per batch row), a row stops at its own length: its state
    is frozen and its later outputs are zero, which is what PyTorch gives for a
    packed sequence. Without it, padding would leak into the final state.
    """
    n_steps, batch = x_proj.shape[:2]
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (batch,) or np.any(lengths < 1) or np.any(lengths > n_steps):
            raise ValueError(f"lengths must give each of the {batch} rows a length from 1 to {n_steps}; got {lengths}")
    first_h = state[0] if isinstance(state, tuple) else state
    outputs = np.zeros((n_steps, batch, first_h.shape[-1]), dtype=first_h.dtype)  # [T, B, H]
    for t in range(n_steps):
        new_state = step(x_proj[t], state)
        if lengths is not None:
            alive = (t < lengths)[:, None]  # [B] -> [B, 1]
            new_state = _select(alive, new_state, state)
        state = new_state
        h = state[0] if isinstance(state, tuple) else state
        outputs[t] = h if lengths is None else np.where(alive, h, 0)
    return outputs, state


def map_state(fn: Callable[..., np.ndarray], *states: State) -> State:
    """Apply ``fn`` to a state, or to each part of an LSTM's (h, c), alike."""
    if isinstance(states[0], tuple):
        return tuple(fn(*parts) for parts in zip(*states))
    return fn(*states)


def _select(mask: np.ndarray, new: State, old: State) -> State:
    """``new`` where ``mask`` is True, else ``old``."""
    return map_state(lambda n, o: np.where(mask, n, o), new, old)


def time_major(x: np.ndarray, batch_first: bool) -> np.ndarray:
    """A view of x in [T, B, ...] order (no copy)."""
    return np.swapaxes(x, 0, 1) if batch_first else x  # [B, T, ...] -> [T, B, ...]


def initial_state(x: np.ndarray, hidden_size: int, given: np.ndarray | None = None) -> np.ndarray:
    """``given`` after checking it is [B, H] in x's dtype; zeros (the default) if it is None."""
    expected = (x.shape[1], hidden_size)
    if given is None:
        return np.zeros(expected, dtype=x.dtype)  # [B, H]
    given = check_float("initial state", given)
    if given.shape != expected or given.dtype != x.dtype:
        raise ValueError(
            f"initial state has shape {given.shape} and dtype {given.dtype}; expected {expected} and {x.dtype} "
            "(for a bidirectional layer, stack both directions on a leading axis of 2)"
        )
    return given


def rnn_layer(
    x: np.ndarray,
    params: CellParams,
    h0: np.ndarray | None = None,
    *,
    nonlinearity=Nonlinearity.TANH,
    batch_first: bool = False,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Equation (1) applied along a sequence: x [T, B, I] -> (outputs [T, B, H], h_T [B, H]).

    ``h0`` defaults to zeros. ``lengths`` handles a padded batch (see ``scan``).
    """
    x = time_major(x, batch_first)  # [B, T, I] -> [T, B, I] if batch_first
    x_proj = project_inputs(x, params)  # [T, B, I] -> [T, B, H]
    h = initial_state(x, params.hidden_size, h0)  # [B, H]

    def step(x_t: np.ndarray, h: np.ndarray) -> np.ndarray:
        return rnn_step(x_t, h, params, nonlinearity)

    outputs, h = scan(step, x_proj, h, lengths)
    return time_major(outputs, batch_first), h  # [T, B, H] -> [B, T, H] if batch_first


def reverse_time(x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Reverse a time-major batch along time; with ``lengths``, reverse each row
    within its own length and leave the padding where it is."""
    if lengths is None:
        return x[::-1]
    n_steps = x.shape[0]
    t = np.arange(n_steps)[:, None]  # [T, 1]
    source = np.where(t < lengths, lengths - 1 - t, t)  # [T, 1], [B] -> [T, B]
    index = source.reshape(source.shape + (1,) * (x.ndim - 2))  # [T, B] -> [T, B, 1, ...]
    return np.take_along_axis(x, index, axis=0)  # [T, B, ...], each row read from its own source step


def bidirectional(
    layer: Callable[..., tuple[np.ndarray, State]],
    x: np.ndarray,
    forward: CellParams,
    backward: CellParams,
    state: State | None = None,
    *,
    batch_first: bool = False,
    lengths: np.ndarray | None = None,
    **layer_options,
) -> tuple[np.ndarray, State]:
    """Schuster & Paliwal (1997): one layer reads left to right, another right to
    left, and each time step gets both: outputs [T, B, 2H], final state [2, B, H].

    ``layer`` is ``rnn_layer``, ``lstm_layer`` or ``gru_layer``. ``state`` (if given)
    stacks the forward and backward initial states on a leading axis of 2, the
    layout of PyTorch's ``h_0`` for one bidirectional layer.
    """
    x = time_major(x, batch_first)  # [B, T, I] -> [T, B, I] if batch_first
    state_f, state_b = (None, None) if state is None else _unstack(state)
    out_f, final_f = layer(x, forward, state_f, lengths=lengths, **layer_options)  # [T, B, H]
    out_b, final_b = layer(reverse_time(x, lengths), backward, state_b, lengths=lengths, **layer_options)
    out_b = reverse_time(out_b, lengths)  # back into reading order
    outputs = np.concatenate([out_f, out_b], axis=-1)  # [T, B, H] x 2 -> [T, B, 2H]
    return time_major(outputs, batch_first), _stack(final_f, final_b)  # final: [B, H] x 2 -> [2, B, H]


def _unstack(state: State) -> tuple[State, State]:
    """Split a [2, B, H] state into its forward and backward halves."""
    return map_state(lambda s: s[0], state), map_state(lambda s: s[1], state)  # [2, B, H] -> 2 x [B, H]


def _stack(first: State, second: State) -> State:
    """The inverse of ``_unstack``."""
    return map_state(lambda a, b: np.stack([a, b]), first, second)  # 2 x [B, H] -> [2, B, H]


def stacked(
    layer: Callable[..., tuple[np.ndarray, State]],
    x: np.ndarray,
    cells: list[CellParams | tuple[CellParams, CellParams]],
    state: State | None = None,
    *,
    batch_first: bool = False,
    lengths: np.ndarray | None = None,
    **layer_options,
) -> tuple[np.ndarray, State]:
    """Layers on top of each other, as ``nn.RNN(num_layers=L)``: layer l reads layer l-1's outputs.

    Each entry of ``cells`` is one layer: a ``CellParams``, or a (forward,
    backward) pair for a bidirectional layer. ``state`` and the returned final
    state use PyTorch's layout, [L * D, B, H] with D = 2 for bidirectional
    layers; Sutskever et al. (2014) stacked four LSTM layers.
    """
    x = time_major(x, batch_first)  # [B, T, I] -> [T, B, I] if batch_first
    finals, row = [], 0
    for cell in cells:
        directions = 2 if isinstance(cell, tuple) else 1
        rows = None if state is None else map_state(lambda s: s[row : row + directions], state)  # [D, B, H]
        if directions == 2:
            x, final = bidirectional(layer, x, *cell, rows, lengths=lengths, **layer_options)  # -> [T, B, 2H]
        else:
            first = None if rows is None else map_state(lambda s: s[0], rows)  # [1, B, H] -> [B, H]
            x, final = layer(x, cell, first, lengths=lengths, **layer_options)  # -> [T, B, H]
            final = map_state(lambda s: s[None], final)  # [B, H] -> [1, B, H]
        finals.append(final)
        row += directions
    final_state = map_state(lambda *parts: np.concatenate(parts), *finals)  # L x [D, B, H] -> [L * D, B, H]
    return time_major(x, batch_first), final_state  # [T, B, D*H] -> [B, T, D*H] if batch_first
