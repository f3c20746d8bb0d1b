"""The LSTM: the equations, the layer, and parity with torch.nn.LSTM."""

import numpy as np
import pytest

from tolerance import assert_close

from runnable.lstm import init_lstm, lstm_cell, lstm_layer
from runnable.rnn import bidirectional, stacked

T, B, I, H = 6, 3, 5, 4


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_cell_follows_gate_order_i_f_g_o(rng):
    params = init_lstm(I, H, rng)
    x, h, c = rng.normal(size=(B, I)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    gates = x @ params.weight_ih.T + params.bias_ih + h @ params.weight_hh.T + params.bias_hh
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    h_new, c_out = lstm_cell(x, (h, c), params)
    assert_close(c_out, c_new, label="c")
    assert_close(h_new, _sigmoid(o) * np.tanh(c_new), label="h")


def test_forget_gate_closed_and_input_gate_shut_keeps_nothing(rng):
    """With f = 0 and i = 0 the cell state is wiped: the memory is the gates' doing."""
    params = init_lstm(I, H, rng)
    params.bias_ih[: 2 * H] = -1e3  # drive i and f to zero
    h_new, c_new = lstm_cell(rng.normal(size=(B, I)), (rng.normal(size=(B, H)), rng.normal(size=(B, H))), params)
    np.testing.assert_allclose(c_new, 0, atol=1e-300)
    np.testing.assert_allclose(h_new, 0, atol=1e-300)


def test_layer_shapes_dtype_and_final_state(rng, dtype):
    params = init_lstm(I, H, rng, dtype=dtype)
    outputs, (h_last, c_last) = lstm_layer(rng.normal(size=(T, B, I)).astype(dtype), params)
    assert outputs.shape == (T, B, H) and h_last.shape == c_last.shape == (B, H)
    assert outputs.dtype == h_last.dtype == c_last.dtype == dtype
    np.testing.assert_array_equal(outputs[-1], h_last)


def test_bidirectional_is_forward_plus_forward_on_reversed_input(rng):
    fwd, bwd = init_lstm(I, H, rng), init_lstm(I, H, rng)
    x = rng.normal(size=(T, B, I))
    outputs, (h_n, c_n) = bidirectional(lstm_layer, x, fwd, bwd)
    out_f, (h_f, c_f) = lstm_layer(x, fwd)
    out_b, (h_b, c_b) = lstm_layer(x[::-1], bwd)
    np.testing.assert_array_equal(outputs, np.concatenate([out_f, out_b[::-1]], axis=-1))
    np.testing.assert_array_equal(h_n, np.stack([h_f, h_b]))
    np.testing.assert_array_equal(c_n, np.stack([c_f, c_b]))


@pytest.mark.parametrize("bidi", [False, True], ids=["unidirectional", "bidirectional"])
def test_matches_torch_lstm(torch, torch_recurrent, rng, dtype, bidi):
    fwd = init_lstm(I, H, rng, dtype=dtype)
    bwd = init_lstm(I, H, rng, dtype=dtype) if bidi else None
    x = rng.normal(size=(T, B, I)).astype(dtype)
    directions = 2 if bidi else 1
    h0 = rng.normal(size=(directions, B, H)).astype(dtype)
    c0 = rng.normal(size=(directions, B, H)).astype(dtype)
    module = torch_recurrent("LSTM", fwd, bwd)
    with torch.no_grad():
        expected_out, (expected_h, expected_c) = module(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    if bidi:
        outputs, (h_n, c_n) = bidirectional(lstm_layer, x, fwd, bwd, (h0, c0))
    else:
        outputs, (h_last, c_last) = lstm_layer(x, fwd, (h0[0], c0[0]))
        h_n, c_n = h_last[None], c_last[None]
    assert outputs.dtype == dtype
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)
    assert_close(c_n, expected_c.numpy(), dtype)


def test_padded_batch_matches_torch_packed_sequence(torch, torch_recurrent, rng, dtype):
    params = init_lstm(I, H, rng, dtype=dtype)
    x = rng.normal(size=(B, T, I)).astype(dtype)
    lengths = np.array([2, T, 4])
    module = torch_recurrent("LSTM", params, batch_first=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
    )
    with torch.no_grad():
        packed_out, (expected_h, expected_c) = module(packed)
    expected_out, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True, total_length=T)
    outputs, (h_last, c_last) = lstm_layer(x, params, batch_first=True, lengths=lengths)
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_last, expected_h[0].numpy(), dtype)
    assert_close(c_last, expected_c[0].numpy(), dtype)


@pytest.mark.parametrize("bidi", [False, True], ids=["unidirectional", "bidirectional"])
def test_stacked_layers_match_torch_num_layers(torch, torch_recurrent, rng, dtype, bidi):
    """Three layers, as nn.LSTM(num_layers=3); the upper layers read the lower layers' outputs."""
    directions = 2 if bidi else 1
    cells = []
    for index in range(3):
        size = I if index == 0 else directions * H
        pair = (init_lstm(size, H, rng, dtype=dtype), init_lstm(size, H, rng, dtype=dtype))
        cells.append(pair if bidi else pair[0])
    x = rng.normal(size=(B, T, I)).astype(dtype)
    h0 = rng.normal(size=(3 * directions, B, H)).astype(dtype)
    c0 = rng.normal(size=(3 * directions, B, H)).astype(dtype)
    module = torch_recurrent("LSTM", cells, batch_first=True)
    with torch.no_grad():
        expected_out, (expected_h, expected_c) = module(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    outputs, (h_n, c_n) = stacked(lstm_layer, x, cells, (h0, c0), batch_first=True)
    assert outputs.shape == (B, T, directions * H) and h_n.shape == c_n.shape == (3 * directions, B, H)
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)
    assert_close(c_n, expected_c.numpy(), dtype)
