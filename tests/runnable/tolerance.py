"""Seeds and tolerances for the ``runnable/`` tests: the one home of every numerical bound.

Every bound here is derived from the arithmetic (the dtype's machine epsilon,
the finite-difference step, the size of the function), never from what one
machine printed. ``make test-matrix`` runs the tests under every OpenBLAS kernel
the CPU can execute and with five seeds, all with every bound tightened ten
times (``RUNNABLE_TEST_MARGIN=10``): a test that passes there has an order of
magnitude to spare on any machine. With ``RUNNABLE_TEST_REPORT=FILE`` each
comparison appends its error as a fraction of its bound to FILE, so the matrix
can print how close each test came.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

SEED = int(os.environ.get("RUNNABLE_TEST_SEED", "0"))
"""Seed of the ``rng`` fixture; ``make test-matrix`` runs the tests with several."""

MARGIN = float(os.environ.get("RUNNABLE_TEST_MARGIN", "1"))
"""Every bound is divided by this: 1 in ``make test``, 10 in ``make test-matrix``."""

_REPORT = os.environ.get("RUNNABLE_TEST_REPORT")

# Two implementations of one layer or model (ours and PyTorch's, batched and
# one at a time, chunked and whole) run a few hundred dependent floating-point
# operations: products of length <= 64, a softmax, a layer norm, residual sums,
# a loss. Each rounds by at most eps relative to its operands, and summing in a
# different order moves a result by at most about (number of terms) * eps of the
# largest term. Measured against the largest value of the whole result, two
# correct implementations therefore differ by at most a few hundred eps;
# 2**12 eps (float64: 9.1e-13, float32: 4.9e-4) covers that with room.
# A real bug (a wrong sign, a missing term, a transposed weight) moves the
# result by a sizeable fraction of its scale, far above either bound; float64
# is where correctness is claimed, float32 shows the same code keeps its dtype.
PARITY_ROUNDOFFS = 2**12


def eps(dtype) -> float:
    """Machine epsilon of ``dtype`` (2.2e-16 for float64, 1.2e-7 for float32)."""
    return float(np.finfo(dtype).eps)


def rel_error(actual, expected, scale: float | None = None) -> float:
    """max|actual - expected| / scale, in float64; ``scale`` defaults to max|expected|.

    Pass the scale of the whole result (e.g. the largest entry of every gradient
    of a model) when comparing one part of it, so that a part that happens to be
    small is not held to a tighter bound than the arithmetic gives it."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if scale is None:
        scale = float(np.max(np.abs(expected), initial=0.0))
    scale = max(scale, np.finfo(np.float64).tiny)
    return float(np.max(np.abs(actual - expected), initial=0.0)) / scale


def _record(label: str, ratio: float) -> None:
    if _REPORT:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        with open(_REPORT, "a", encoding="utf-8") as report:
            report.write(f"{ratio:.6e}\t{test}\t{label}\n")


def parity_tolerance(dtype, roundoffs: float = PARITY_ROUNDOFFS) -> float:
    """The bound on ``rel_error`` of two implementations of one function in ``dtype``."""
    return roundoffs * eps(dtype) / MARGIN


def assert_close(actual, expected, dtype=np.float64, *, roundoffs: float = PARITY_ROUNDOFFS, scale=None, label=""):
    """``rel_error(actual, expected, scale) <= roundoffs * eps(dtype)`` (divided by the margin)."""
    error = rel_error(actual, expected, scale)
    bound = parity_tolerance(dtype, roundoffs)
    _record(label, error / bound)
    assert error <= bound, (
        f"{label}: relative error {error:.3g} = {error / eps(dtype):.0f} eps "
        f"> bound {bound:.3g} = {roundoffs / MARGIN:.0f} eps of {np.dtype(dtype).name}"
    )


def assert_all_close(pairs, dtype=np.float64, *, roundoffs: float = PARITY_ROUNDOFFS):
    """Each ``(label, actual, expected)`` within the parity bound, relative to the largest
    expected value of them all: the parts of one gradient, measured against its scale."""
    pairs = [(label, np.asarray(a), np.asarray(e)) for label, a, e in pairs]
    scale = max(float(np.max(np.abs(e), initial=0.0)) for _, _, e in pairs)
    for label, actual, expected in pairs:
        assert_close(actual, expected, dtype, roundoffs=roundoffs, scale=scale, label=label)


# --------------------------------------------------------------------------- #
# Finite differences
# --------------------------------------------------------------------------- #
# The five-point stencil
#     D(h) = [f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)] / (12 h)
# has truncation error h^4 |f'''''| / 30 (3e-22 |f'''''| at h = 1e-5: nothing)
# and rounding error at most (1 + 8 + 8 + 1) / 12 * delta / h = 1.5 delta / h,
# where delta bounds the rounding error of one evaluation of f. A function that
# adds up terms of total magnitude S carries at most about FD_ROUNDOFFS * eps * S
# of rounding error (2**8 eps per term allows for the hundreds of operations
# behind each term), hence the bound
#     |D(h) - f'(x)| <= 1.5 * FD_ROUNDOFFS * eps * S / h,
# 1.7e-8 at S = 2: far below any real bug, which is off by a sizeable fraction
# of the gradient.
#
# A kink of f (a ReLU changing sign) within 2h of x makes any difference
# quotient meaningless there. It shows as disagreement between the central
# differences at h and 2h: for a smooth f they differ by rounding (< 2 delta / h)
# and truncation (h^2 |f'''| / 2), while a kink with slope change s at distance
# d < 2h from x moves them apart by about s * min(d, 2h - d) / 4h. Entries where
# they disagree by more than 2 delta / h are not compared (a large f''' can
# exclude a smooth entry too, which costs coverage, not soundness). This cannot
# hide a wrong analytic gradient: both quotients are differences of the true f,
# and at least half the entries must be compared.
FD_STEP = 1e-5
FD_ROUNDOFFS = 2**8


@dataclass(frozen=True)
class FiniteDifference:
    """A five-point estimate of df/dx at some entries of x, with its error bound."""

    estimate: np.ndarray  # the shape of x, or of ``indices``
    bound: float  # absolute error bound of every estimate (derivation above)
    kinked: np.ndarray  # bool, like ``estimate``: f is not smooth within 2h there

    def assert_matches(self, analytic, label: str = "gradient") -> None:
        """|analytic - estimate| <= bound at every smooth entry; at least half the entries smooth."""
        analytic = np.asarray(analytic, dtype=np.float64)
        assert analytic.shape == self.estimate.shape, f"{label}: shape {analytic.shape} != {self.estimate.shape}"
        smooth = ~self.kinked
        assert 2 * smooth.sum() >= self.kinked.size, (
            f"{label}: f has a kink within 2h of {self.kinked.sum()} of {self.kinked.size} entries"
        )
        worst = float(np.max(np.abs(analytic - self.estimate)[smooth], initial=0.0))
        _record(label, worst / self.bound)
        assert worst <= self.bound, f"{label}: |analytic - finite difference| = {worst:.3g} > bound {self.bound:.3g}"


def numerical_grad(f, x: np.ndarray, indices=None, magnitude: float | None = None) -> FiniteDifference:
    """Five-point finite differences of the scalar ``f()``, which reads ``x`` (perturbed in place
    and restored). With ``indices`` (flat positions), only those entries, as a 1-D array: for
    models too large to perturb every weight. ``magnitude`` is the total size of the terms f adds
    up (default |f(x)|); pass ``np.sum(np.abs(out * probe))`` for a probe loss
    ``np.sum(out * probe)``, whose terms cancel."""
    assert x.dtype == np.float64, "finite differences need float64"
    assert x.flags.c_contiguous, "x must be C-contiguous so that it can be perturbed through a flat view"
    h = FD_STEP
    flat_x = x.reshape(-1)  # a view: perturbing flat_x perturbs x
    positions = range(flat_x.size) if indices is None else indices
    size = abs(float(f())) if magnitude is None else float(magnitude)
    delta = FD_ROUNDOFFS * eps(np.float64) * max(size, 1.0)
    estimate = np.empty(len(positions))
    kinked = np.empty(len(positions), dtype=bool)
    for j, i in enumerate(positions):
        saved = flat_x[i]
        values = []
        for k in (-2, -1, 1, 2):
            flat_x[i] = saved + k * h
            values.append(float(f()))
        flat_x[i] = saved
        f_m2, f_m1, f_p1, f_p2 = values
        estimate[j] = (f_m2 - 8 * f_m1 + 8 * f_p1 - f_p2) / (12 * h)
        disagreement = abs((f_p1 - f_m1) / (2 * h) - (f_p2 - f_m2) / (4 * h))
        kinked[j] = disagreement > 2 * delta / h
    shape = x.shape if indices is None else estimate.shape
    return FiniteDifference(estimate.reshape(shape), 1.5 * delta / h / MARGIN, kinked.reshape(shape))
