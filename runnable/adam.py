"""Adam, Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), algorithm 1.

For each parameter theta with gradient g at step t:

    m_t = beta1 * m_{t-1} + (1 - beta1) * g           (first-moment estimate)
    v_t = beta2 * v_{t-1} + (1 - beta2) * g^2         (second raw moment)
    m_hat = m_t / (1 - beta1^t),  v_hat = v_t / (1 - beta2^t)    (bias correction)
    theta -= lr * m_hat / (sqrt(v_hat) + eps)

The moments start at zero, so without the correction early steps would be far
too small. Plus the learning-rate schedule of Vaswani et al. 2017, section 5.3,
eq. 3: a linear warm-up followed by decay with the inverse square root of the step,
and gradient clipping by the global norm (Pascanu et al. 2013), which both
training demos of recurrent and GPT models use.

Parameters and gradients are trees of params dataclasses and lists (as built by
``transformer.init_transformer`` and returned by ``backward.transformer_backward``);
``leaves`` flattens either into its arrays, in the same order.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np


def leaves(tree) -> list[np.ndarray]:
    """Every array in a tree of dataclasses and lists, depth first in field order."""
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in leaves(item)]
    if dataclasses.is_dataclass(tree):
        return [leaf for f in dataclasses.fields(tree) for leaf in leaves(getattr(tree, f.name))]
    return []  # ints, None and other settings carry no weights


@dataclass
class AdamState:
    """Moment estimates (one pair per parameter array) and the step count t."""

    m: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)
    t: int = 0


def init_adam(params) -> AdamState:
    """Zero first and second moments shaped like every parameter array (Algorithm 1, line 2)."""
    arrays = leaves(params)
    return AdamState(m=[np.zeros_like(a) for a in arrays], v=[np.zeros_like(a) for a in arrays])


def adam_step(
    params,
    grads,
    state: AdamState,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.98,
    eps: float = 1e-9,
) -> None:
    """One Adam update of ``params`` in place (Kingma & Ba 2015, algorithm 1).

    The defaults beta2 = 0.98 and eps = 1e-9 are Vaswani et al.'s (section 5.3);
    Kingma & Ba suggest 0.999 and 1e-8. The bias corrections are folded into
    the step size, as in section 2 of the Adam paper (the last paragraph before 2.1).
    """
    state.t += 1
    correction1 = 1 - beta1**state.t
    correction2 = 1 - beta2**state.t
    step_size = lr * math.sqrt(correction2) / correction1
    eps_hat = eps * math.sqrt(correction2)  # eps rescaled so the folded form equals the textbook one
    for p, g, m, v in zip(leaves(params), leaves(grads), state.m, state.v, strict=True):
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        p -= step_size * m / (np.sqrt(v) + eps_hat)


def clip_gradients(grads, max_norm: float) -> float:
    """Scale all gradients down together if their global L2 norm exceeds ``max_norm``; returns the norm.

    Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
    networks" (ICML 2013), algorithm 1: through many steps the recurrence can
    multiply a gradient into a huge one (an exploding gradient); clipping keeps
    its direction but bounds the step.
    """
    arrays = leaves(grads)
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in arrays))
    if norm > max_norm:
        for g in arrays:
            g *= max_norm / norm
    return norm


def warmup_lr(step: int, d_model: int, warmup_steps: int = 4000, scale: float = 1.0) -> float:
    """lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), Vaswani et al. 2017, eq. 3.

    Rises linearly for ``warmup_steps`` steps, then decays as 1/sqrt(step).
    ``scale`` multiplies the whole schedule (1 in the paper). ``step`` counts from 1.
    """
    step = max(step, 1)
    return scale * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)
