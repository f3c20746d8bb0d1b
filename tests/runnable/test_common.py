"""The shared helpers: input checks with a fix in the message, stable softmax and sigmoid."""

import warnings

import numpy as np
import pytest

from tolerance import assert_close

from runnable._common import check_dtypes, check_float, check_mask, check_tokens, lookup, sigmoid, softmax


def test_softmax_rows_sum_to_one_even_for_huge_scores(dtype):
    x = np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0]], dtype=dtype)
    y = softmax(x)
    assert y.dtype == dtype and np.all(np.isfinite(y))
    # A weight takes an exp, a sum and a division (a few eps); three of them sum to 1 within
    # about 12 eps. The bounds below are those counts, 8 times over.
    assert_close(y.sum(-1), np.ones(2), dtype, roundoffs=8 * 12)
    assert_close(y[1], np.full(3, 1 / 3), dtype, roundoffs=8 * 4)


def test_softmax_matches_the_formula(rng):
    x = rng.normal(size=(4, 5))
    assert_close(softmax(x), np.exp(x) / np.exp(x).sum(-1, keepdims=True))


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


def test_check_dtypes_names_both_arrays_and_the_fix():
    a, b = np.zeros(2, np.float32), np.zeros(2, np.float64)
    assert check_dtypes(x=a, w=a) == np.float32
    with pytest.raises(TypeError, match=r"w is float64 but x is float32; give them one dtype, e\.g\. w\.astype\(np\.float32\)"):
        check_dtypes(x=a, w=b)
    with pytest.raises(TypeError, match="expected float32 or float64"):
        check_dtypes(x=a, w=np.zeros(2, np.int64))


def test_check_mask_accepts_bool_and_none_and_refuses_the_rest():
    assert check_mask(None) is None
    assert check_mask(np.ones(3, bool)).dtype == bool
    for bad in (np.zeros(3), np.zeros(3, np.float32), np.ones(3, np.int8)):
        with pytest.raises(TypeError, match="True means 'may attend'"):
            check_mask(bad)


def test_token_ids_outside_the_vocabulary_are_refused_with_their_position():
    table = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(lookup(table, np.array([[3, 0]])), table[[[3, 0]]])
    with pytest.raises(ValueError, match=r"tokens\[0, 1\] is -1, outside the vocabulary 0\.\.3"):
        lookup(table, np.array([[2, -1]]))  # table[-1] would silently be the last row
    with pytest.raises(ValueError, match=r"ids\[2\] is 4, outside"):
        check_tokens("ids", np.array([0, 1, 4]), 4)
    with pytest.raises(TypeError, match="token ids must be integers"):
        check_tokens("ids", np.array([0.0, 1.0]), 4)
