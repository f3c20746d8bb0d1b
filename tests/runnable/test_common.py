"""The shared helpers: stable softmax (in place, fully masked rows) and sigmoid."""

import warnings

import numpy as np
import pytest

from tolerance import assert_close

from runnable._common import check_float, sigmoid, softmax


def test_softmax_rows_sum_to_one_even_for_huge_scores(dtype):
    x = np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0]], dtype=dtype)
    y = softmax(x)
    assert y.dtype == dtype and np.all(np.isfinite(y))
    # A weight takes an exp, a sum and a division (a few eps); three of them sum to 1 within
    # about 12 eps. The bounds below are those counts, 8 times over.
    assert_close(y.sum(-1), np.ones(2), dtype, roundoffs=8 * 12)
    assert_close(y[1], np.full(3, 1 / 3), dtype, roundoffs=8 * 4)


def test_softmax_in_place_returns_the_same_buffer(rng):
    x = rng.normal(size=(4, 5))
    expected = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    y = softmax(x, out=x)
    assert y is x
    assert_close(x, expected)


def test_softmax_masked_entries_get_zero_and_fully_masked_rows_are_zero():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no invalid-value warning, no NaN
        y = softmax(x)
    assert y[0, 1] == 0 and np.all(y[1] == 0)
    assert_close(y[0, [0, 2]], np.exp([0, 1]) / np.exp([0, 1]).sum())


def test_softmax_along_another_axis(rng):
    x = rng.normal(size=(3, 4))
    assert_close(softmax(x, axis=0), softmax(x.T).T)


def test_softmax_matches_torch(torch, rng, dtype):
    x = (rng.normal(size=(6, 7)) * 5).astype(dtype)
    assert_close(softmax(x), torch.softmax(torch.from_numpy(x), dim=-1).numpy(), dtype)


def test_sigmoid_is_stable_and_keeps_dtype(dtype):
    x = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 1 / (1 + exp(-x)) form would overflow
        y = sigmoid(x)
    assert y.dtype == dtype
    # exp, add, divide: 4 eps at most (exp within 1 ulp), 8 times over.
    assert_close(y, [0, 1 / (1 + np.exp(2)), 0.5, 1 / (1 + np.exp(-2)), 1], dtype, roundoffs=8 * 4)


def test_check_float_rejects_integers_with_a_fix():
    with pytest.raises(TypeError, match=r"x\.astype\(np\.float32\)"):
        check_float("x", np.arange(3))
