"""The Elman RNN: properties of the layer, and parity with torch.nn.RNN."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tolerance import assert_close

from runnable.rnn import (
    CellParams,
    Nonlinearity,
    bidirectional,
    init_cell,
    reverse_time,
    rnn_cell,
    rnn_layer,
    stacked,
)

T, B, I, H = 7, 3, 5, 4


def test_cell_is_equation_1(rng):
    params = init_cell(I, H, rng)
    x, h = rng.normal(size=(B, I)), rng.normal(size=(B, H))
    pre = x @ params.weight_ih.T + params.bias_ih + h @ params.weight_hh.T + params.bias_hh
    assert_close(rnn_cell(x, h, params), np.tanh(pre), label="tanh")
    assert_close(rnn_cell(x, h, params, Nonlinearity.RELU), np.maximum(pre, 0), label="relu")


def test_layer_shapes_dtype_and_final_state(rng, dtype):
    params = init_cell(I, H, rng, dtype=dtype)
    x = rng.normal(size=(T, B, I)).astype(dtype)
    outputs, h_last = rnn_layer(x, params)
    assert outputs.shape == (T, B, H) and h_last.shape == (B, H)
    assert outputs.dtype == dtype and h_last.dtype == dtype
    np.testing.assert_array_equal(outputs[-1], h_last)


def test_layer_is_the_cell_repeated(rng):
    params = init_cell(I, H, rng)
    x, h = rng.normal(size=(T, B, I)), rng.normal(size=(B, H))
    outputs, _ = rnn_layer(x, params, h)
    for t in range(T):
        h = rnn_cell(x[t], h, params)
        assert_close(outputs[t], h, label=f"step {t}")


def test_batch_first_is_a_transpose(rng):
    params = init_cell(I, H, rng)
    x = rng.normal(size=(T, B, I))
    outputs, h_last = rnn_layer(x, params)
    outputs_bf, h_last_bf = rnn_layer(x.transpose(1, 0, 2), params, batch_first=True)
    np.testing.assert_array_equal(outputs_bf, outputs.transpose(1, 0, 2))
    np.testing.assert_array_equal(h_last_bf, h_last)


def test_bidirectional_is_forward_plus_forward_on_reversed_input(rng):
    fwd, bwd = init_cell(I, H, rng), init_cell(I, H, rng)
    x = rng.normal(size=(T, B, I))
    outputs, h_n = bidirectional(rnn_layer, x, fwd, bwd)
    out_f, h_f = rnn_layer(x, fwd)
    out_b, h_b = rnn_layer(x[::-1], bwd)
    np.testing.assert_array_equal(outputs, np.concatenate([out_f, out_b[::-1]], axis=-1))
    np.testing.assert_array_equal(h_n, np.stack([h_f, h_b]))


def test_lengths_match_running_each_sequence_alone(rng):
    fwd, bwd = init_cell(I, H, rng), init_cell(I, H, rng)
    x = rng.normal(size=(T, B, I))
    lengths = np.array([T, 2, 5])
    outputs, h_n = bidirectional(rnn_layer, x, fwd, bwd, lengths=lengths)
    for b, n in enumerate(lengths):
        alone, h_alone = bidirectional(rnn_layer, x[:n, b : b + 1], fwd, bwd)
        assert_close(outputs[:n, b], alone[:, 0], label=f"outputs of sequence {b}")
        np.testing.assert_array_equal(outputs[n:, b], 0)  # padding gives zero output
        assert_close(h_n[:, b], h_alone[:, 0], label=f"final state of sequence {b}")


def test_reverse_time_keeps_padding_in_place():
    x = np.arange(4 * 2, dtype=float).reshape(4, 2)  # [T, B]
    reversed_ = reverse_time(x, np.array([4, 2]))
    np.testing.assert_array_equal(reversed_[:, 0], [6, 4, 2, 0])
    np.testing.assert_array_equal(reversed_[:, 1], [3, 1, 5, 7])


def test_bad_input_gets_a_clear_error(rng):
    params = init_cell(I, H, rng)
    with pytest.raises(ValueError, match=r"expected \[T, B, 5\]"):
        rnn_layer(rng.normal(size=(T, B, I + 1)), params)
    with pytest.raises(TypeError, match=r"weight_ih is float64 but x is float32; give them one dtype"):
        rnn_layer(rng.normal(size=(T, B, I)).astype(np.float32), params)
    with pytest.raises(TypeError, match="expected float32 or float64"):
        rnn_layer(np.ones((T, B, I), dtype=np.int64), params)
    with pytest.raises(ValueError, match=r"initial state has shape \(2, 3, 4\)"):
        rnn_layer(rng.normal(size=(T, B, I)), params, rng.normal(size=(2, B, H)))
    with pytest.raises(ValueError, match="a length from 1 to 7"):
        rnn_layer(rng.normal(size=(T, B, I)), params, lengths=np.array([1, 8, 2]))
    with pytest.raises(ValueError, match="G\\*H rows"):
        CellParams(np.zeros((4, I)), np.zeros((3, 3)), np.zeros(4), np.zeros(4))


@pytest.mark.parametrize("nonlinearity", list(Nonlinearity))
@pytest.mark.parametrize("bidi", [False, True], ids=["unidirectional", "bidirectional"])
def test_matches_torch_rnn(torch, torch_recurrent, rng, dtype, nonlinearity, bidi):
    fwd = init_cell(I, H, rng, dtype=dtype)
    bwd = init_cell(I, H, rng, dtype=dtype) if bidi else None
    x = rng.normal(size=(B, T, I)).astype(dtype)
    h0 = rng.normal(size=(2 if bidi else 1, B, H)).astype(dtype)
    module = torch_recurrent("RNN", fwd, bwd, nonlinearity=nonlinearity.value, batch_first=True)
    with torch.no_grad():
        expected_out, expected_h = module(torch.from_numpy(x), torch.from_numpy(h0))
    if bidi:
        outputs, h_n = bidirectional(rnn_layer, x, fwd, bwd, h0, batch_first=True, nonlinearity=nonlinearity)
    else:
        outputs, h_last = rnn_layer(x, fwd, h0[0], batch_first=True, nonlinearity=nonlinearity)
        h_n = h_last[None]
    assert outputs.dtype == dtype
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)


def test_lengths_match_torch_packed_sequence(torch, torch_recurrent, rng, dtype):
    fwd, bwd = init_cell(I, H, rng, dtype=dtype), init_cell(I, H, rng, dtype=dtype)
    x = rng.normal(size=(T, B, I)).astype(dtype)
    lengths = np.array([3, T, 5])
    module = torch_recurrent("RNN", fwd, bwd)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths), enforce_sorted=False)
    with torch.no_grad():
        packed_out, expected_h = module(packed)
    expected_out, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, total_length=T)
    outputs, h_n = bidirectional(rnn_layer, x, fwd, bwd, lengths=lengths)
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)


def test_stacked_is_layers_applied_in_turn(rng):
    lower, upper = init_cell(I, H, rng), init_cell(H, H, rng)
    x, h0 = rng.normal(size=(T, B, I)), rng.normal(size=(2, B, H))
    outputs, h_n = stacked(rnn_layer, x, [lower, upper], h0)
    middle, h_lower = rnn_layer(x, lower, h0[0])
    top, h_upper = rnn_layer(middle, upper, h0[1])
    np.testing.assert_array_equal(outputs, top)
    np.testing.assert_array_equal(h_n, np.stack([h_lower, h_upper]))


def test_stacked_matches_torch_num_layers(torch, torch_recurrent, rng, dtype):
    cells = [init_cell(I, H, rng, dtype=dtype), init_cell(H, H, rng, dtype=dtype)]
    x = rng.normal(size=(T, B, I)).astype(dtype)
    module = torch_recurrent("RNN", cells, nonlinearity="relu")
    with torch.no_grad():
        expected_out, expected_h = module(torch.from_numpy(x))
    outputs, h_n = stacked(rnn_layer, x, cells, nonlinearity=Nonlinearity.RELU)
    assert_close(outputs, expected_out.numpy(), dtype)
    assert_close(h_n, expected_h.numpy(), dtype)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_reverse_time_with_lengths_is_an_involution_that_keeps_padding(data):
    n_steps = data.draw(st.integers(1, 6), label="T")
    lengths = np.array(data.draw(st.lists(st.integers(1, n_steps), min_size=1, max_size=4), label="lengths"))
    x = np.arange(n_steps * len(lengths) * 2, dtype=float).reshape(n_steps, len(lengths), 2)  # [T, B, 2]
    reversed_ = reverse_time(x, lengths)
    np.testing.assert_array_equal(reverse_time(reversed_, lengths), x)
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(reversed_[:n, b], x[:n, b][::-1])
        np.testing.assert_array_equal(reversed_[n:, b], x[n:, b])
