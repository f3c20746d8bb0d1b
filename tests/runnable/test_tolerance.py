"""The test helpers themselves: each bound must catch what it exists to catch."""

from __future__ import annotations

import numpy as np
import pytest
from tolerance import FD_STEP, assert_all_close, assert_close, eps, numerical_grad, parity_tolerance


def test_finite_differences_accept_the_true_gradient_and_reject_a_slightly_wrong_one(rng):
    x = rng.normal(size=(4, 5))
    estimate = numerical_grad(lambda: float(np.sum(np.sin(x) * x)), x)
    true = np.cos(x) * x + np.sin(x)
    estimate.assert_matches(true)
    assert not estimate.kinked.any()
    wrong = true.copy()
    wrong[2, 3] += 1e-6  # far smaller than any real bug
    with pytest.raises(AssertionError, match="finite difference"):
        estimate.assert_matches(wrong)


def test_a_kink_within_the_stencil_is_set_aside_not_compared():
    x = np.array([0.7, FD_STEP / 3, -1.2, 2.0])  # entry 1 sits a third of a step from ReLU's kink
    estimate = numerical_grad(lambda: float(np.sum(np.maximum(x, 0) * 3.0)), x)
    assert estimate.kinked.tolist() == [False, True, False, False]
    estimate.assert_matches(np.array([3.0, 12345.0, 0.0, 3.0]))  # entry 1 is not compared
    with pytest.raises(AssertionError):
        estimate.assert_matches(np.array([3.0, 3.0, 0.0, 3.1]))  # a smooth entry still is


def test_mostly_kinked_input_fails_rather_than_passing_vacuously():
    x = np.full(4, FD_STEP / 3)
    estimate = numerical_grad(lambda: float(np.sum(np.maximum(x, 0))), x)
    with pytest.raises(AssertionError, match="kink"):
        estimate.assert_matches(np.ones(4))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parity_bound_is_the_stated_number_of_roundoffs(dtype):
    bound = parity_tolerance(dtype)
    expected = np.linspace(-2.0, 3.0, 7)
    assert_close(expected + 0.5 * bound * 3.0, expected, dtype)  # within: 0.5 bound of the scale 3
    with pytest.raises(AssertionError, match="eps"):
        assert_close(expected + 2 * bound * 3.0, expected, dtype)
    assert bound <= 2**12 * eps(dtype)


def test_parts_are_measured_against_the_whole_scale():
    big, small = np.array([10.0, -8.0]), np.array([1e-6, 2e-6])
    nudge = 1e-15  # 1e-9 of the small part, 1e-16 of the whole: a rounding error of the whole
    assert_all_close([("big", big, big), ("small", small + nudge, small)])
    with pytest.raises(AssertionError):
        assert_close(small + nudge, small)  # against its own scale it would fail
