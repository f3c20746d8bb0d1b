"""The GRU: the equations (PyTorch's reset-after variant), the layer, and parity with torch.nn.GRU."""

import numpy as np
import pytest

from tolerance import assert_close

from runnable.gru import gru_cell, gru_layer, init_gru
from runnable.rnn import bidirectional, stacked

T, B, I, H = 6, 3, 5, 4


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_cell_follows_gate_order_r_z_n_with_reset_after_projection(rng):
    params = init_gru(I, H, rng)
    x, h = rng.normal(size=(B, I)), rng.normal(size=(B, H))
    w_ir, w_iz, w_in = np.split(params.weight_ih, 3)
    w_hr, w_hz, w_hn = np.split(params.weight_hh, 3)
    b_ir, b_iz, b_in = np.split(params.bias_ih, 3)
    b_hr, b_hz, b_hn = np.split(params.bias_hh, 3)
    r = _sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
    z = _sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
    n = np.tanh(x @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
    assert_close(gru_cell(x, h, params), (1 - z) * n + z * h)


def test_update_gate_open_copies_the_state(rng):
    """z = 1 carries h through unchanged: the GRU's path for long-range memory."""
    params = init_gru(I, H, rng)
    params.bias_hh[H : 2 * H] = 1e3
    h = rng.normal(size=(B, H))
    np.testing.assert_array_equal(gru_cell(rng.normal(size=(B, I)), h, params), h)  # z = 1 exactly


def test_layer_shapes_dtype_and_final_state(rng, dtype):
    params = init_gru(I, H, rng, dtype=dtype)
    outputs, h_last = gru_layer(rng.normal(size=(T, B, I)).astype(dtype), params)
    assert outputs.shape == (T, B, H) and h_last.shape == (B, H)
    assert outputs.dtype == h_last.dtype == dtype
    np.testing.assert_array_equal(outputs[-1], h_last)


def test_bidirectional_is_forward_plus_forward_on_reversed_input(rng):
    fwd, bwd = init_gru(I, H, rng), init_gru(I, H, rng)
    x = rng.normal(size=(T, B, I))
    outputs, h_n = bidirectional(gru_layer, x, fwd, bwd)
    out_f, h_f = gru_layer(x, fwd)
    out_b, h_b = gru_layer(x[::-1], bwd)
    np.testing.assert_array_equal(outputs, np.concatenate([out_f, out_b[::-1]], axis=-1))
    np.testing.assert_array_equal(h_n, np.stack([h_f, h_b]))


@pytest.mark.parametrize("bidi", [False, True], ids=["unidirectional", "bidirectional"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch-first"])
def test_matches_torch_gru(torch, torch_recurrent, rng, dtype, bidi, batch_first):
    fwd = init_gru(I, H, rng, dtype=dtype)
    bwd = init_gru(I, H, rng, dtype=dtype) if bidi else None
    x = rng.normal(size=(B, T, I) if batch_first else (T, B, I)).astype(dtype)
    h0 = rng.normal(size=(2 if bidi else 1, B, H)).astype(dtype)
    module = torch_recurrent("GRU", fwd, bwd, batch_first=batch_first)
    with torch.no_grad():
        expected_out, expected_h = module(torch.from_numpy(x), torch.from_numpy(h0))
    if bidi:
        outputs, h_n = bidirectional(gru_layer, x, fwd, bwd, h0, batch_first=batch_first)
    else:
        outputs, h_last = gru_layer(x, fwd, h0[0], batch_first=batch_first)
        h_n = h_last[None]
    assert outputs.dtype == dtype
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)


def test_padded_bidirectional_batch_matches_torch_packed_sequence(torch, torch_recurrent, rng, dtype):
    fwd, bwd = init_gru(I, H, rng, dtype=dtype), init_gru(I, H, rng, dtype=dtype)
    x = rng.normal(size=(T, B, I)).astype(dtype)
    lengths = np.array([T, 1, 4])
    module = torch_recurrent("GRU", fwd, bwd)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths), enforce_sorted=False)
    with torch.no_grad():
        packed_out, expected_h = module(packed)
    expected_out, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, total_length=T)
    outputs, h_n = bidirectional(gru_layer, x, fwd, bwd, lengths=lengths)
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)


def test_stacked_bidirectional_padded_batch_matches_torch(torch, torch_recurrent, rng, dtype):
    cells = [(init_gru(I, H, rng, dtype=dtype), init_gru(I, H, rng, dtype=dtype))]
    cells.append((init_gru(2 * H, H, rng, dtype=dtype), init_gru(2 * H, H, rng, dtype=dtype)))
    x = rng.normal(size=(T, B, I)).astype(dtype)
    lengths = np.array([4, T, 2])
    module = torch_recurrent("GRU", cells)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths), enforce_sorted=False)
    with torch.no_grad():
        packed_out, expected_h = module(packed)
    expected_out, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, total_length=T)
    outputs, h_n = stacked(gru_layer, x, cells, lengths=lengths)
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)
