"""Adam (Kingma & Ba 2015) and the warm-up schedule (Vaswani et al. 2017, eq. 3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from tolerance import assert_close

from runnable.adam import adam_step, init_adam, leaves, warmup_lr


@dataclass
class Pair:
    a: np.ndarray
    b: np.ndarray


def textbook_adam(theta, grads, lr, beta1, beta2, eps):
    """Algorithm 1 of the paper, line by line, for comparison."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def test_matches_algorithm_1(rng):
    theta = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(20)]
    params = Pair(a=theta.copy(), b=np.zeros(2))
    state = init_adam(params)
    for g in grads:
        adam_step(params, Pair(a=g, b=np.ones(2)), state, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    expected = textbook_adam(theta, grads, 0.01, 0.9, 0.999, 1e-8)
    assert_close(params.a, expected)
    assert state.t == 20


def test_first_step_moves_each_weight_by_lr_whatever_the_gradient_scale():
    """Bias correction: step 1 is lr * g / |g| (up to eps), even for tiny gradients."""
    params = Pair(a=np.zeros(3), b=np.zeros(1))
    adam_step(params, Pair(a=np.array([1e-4, -3.0, 1e3]), b=np.array([0.5])), init_adam(params), lr=0.1)
    np.testing.assert_allclose(params.a, [-0.1, 0.1, -0.1], rtol=1e-4)


def test_minimizes_a_quadratic(rng, dtype):
    target = rng.standard_normal((4, 3)).astype(dtype)
    params = Pair(a=np.zeros((4, 3), dtype), b=np.zeros(3, dtype))
    state = init_adam(params)
    for step in range(500):
        lr = 0.05 * (1 - step / 500)  # decayed to zero: a constant lr keeps Adam jittering at about lr
        adam_step(params, Pair(a=2 * (params.a - target), b=2 * params.b), state, lr=lr)
    assert params.a.dtype == dtype  # float32 stays float32
    np.testing.assert_allclose(params.a, target, atol=1e-3)


def test_matches_torch_optim_adam(torch, rng, dtype):
    w0 = rng.standard_normal((3, 4)).astype(dtype)
    grads = [rng.standard_normal((3, 4)).astype(dtype) for _ in range(15)]
    params = Pair(a=w0.copy(), b=np.zeros(1, dtype))
    state = init_adam(params)
    tw = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    opt = torch.optim.Adam([tw], lr=3e-3, betas=(0.9, 0.98), eps=1e-9)
    for g in grads:
        adam_step(params, Pair(a=g, b=np.zeros(1, dtype)), state, lr=3e-3)
        tw.grad = torch.from_numpy(g.copy())
        opt.step()
    assert_close(params.a - w0, tw.detach().numpy() - w0, dtype)


def test_warmup_schedule_is_equation_3():
    d, warmup = 512, 4000
    assert warmup_lr(1, d, warmup) == pytest.approx(d**-0.5 * warmup**-1.5)
    peak = warmup_lr(warmup, d, warmup)
    assert peak == pytest.approx(d**-0.5 * warmup**-0.5)
    # Linear rise, then 1/sqrt(step) decay.
    assert warmup_lr(warmup // 2, d, warmup) == pytest.approx(peak / 2)
    assert warmup_lr(4 * warmup, d, warmup) == pytest.approx(peak / 2)
    assert max(warmup_lr(s, d, warmup) for s in range(1, 20000, 7)) <= peak * (1 + 1e-12)
    assert warmup_lr(100, d, warmup, scale=2.0) == pytest.approx(2 * warmup_lr(100, d, warmup))
    assert math.isfinite(warmup_lr(0, d, warmup))


def test_leaves_walks_nested_dataclasses_and_lists():
    inner = [Pair(a=np.zeros(1), b=np.ones(2)), Pair(a=np.zeros(3), b=np.ones(4))]
    sizes = [x.size for x in leaves(Pair(a=np.zeros(5), b=inner))]  # a list where an array would be
    assert sizes == [5, 1, 2, 3, 4]
