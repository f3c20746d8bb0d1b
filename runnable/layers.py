"""Layer normalization, the position-wise feed-forward network and its activations.

The two sub-layers that sit around attention in every Transformer layer:

* Layer normalization, Ba, Kiros & Hinton, "Layer Normalization" (2016), eq. 3-4:
  normalize each position's feature vector to zero mean and unit variance, then
  apply a learned gain and offset. Vaswani et al. (2017) wrap every sub-layer as
  LayerNorm(x + Sublayer(x)) (section 3.1).
* Position-wise feed-forward network, Vaswani et al. (2017), section 3.3, eq. 2:
  FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, the same two-layer MLP at every position.
* GELU, Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)" (2016), section 2:
  GELU(x) = x Phi(x), Phi the standard normal CDF, in place of the ReLU in GPT and
  BERT; GPT-2 uses the paper's tanh approximation
  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from runnable._common import check_dtypes, check_float


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x W + b over the last axis: ``[..., d_in] -> [..., d_out]``, as picoGPT's ``linear``.

    All positions go through one ``[N, d_in] @ [d_in, d_out]`` product (the
    reshape is free for a contiguous ``x``): a single large BLAS call is faster
    than one per batch element, which is what ``[B, T, d] @ [d, e]`` would do.
    """
    out = x.reshape(-1, x.shape[-1]) @ w  # [..., d_in] -> [N, d_in] -> [N, d_out]
    out += b
    return out.reshape(*x.shape[:-1], w.shape[1])  # [N, d_out] -> [..., d_out]


# ---------------------------------------------------------------------------
# Layer normalization (Ba et al. 2016)
# ---------------------------------------------------------------------------


@dataclass
class LayerNormParams:
    """Gain (gamma) and offset (beta) of one layer norm, each ``[d_model]``."""

    gain: np.ndarray  # [d_model]
    bias: np.ndarray  # [d_model]


def init_layer_norm(d_model: int, dtype=np.float64) -> LayerNormParams:
    """Gain 1 and offset 0: the layer starts as a pure normalization."""
    return LayerNormParams(gain=np.ones(d_model, dtype), bias=np.zeros(d_model, dtype))


def normalize(x: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """(x - mean) / sqrt(var + eps) over the last axis; also returns 1 / sqrt(var + eps).

    The biased variance (divide by d, not d - 1) is the one the paper and
    ``nn.LayerNorm`` use. ``eps`` keeps a constant vector from dividing by zero.
    """
    x = check_float("x", x)
    mean = x.mean(axis=-1, keepdims=True)  # [..., d] -> [..., 1]
    centered = x - mean
    # Sum of squares without a temporary [..., d] array of squares.
    var = np.einsum("...i,...i->...", centered, centered)[..., None] / x.shape[-1]  # [..., d] -> [..., 1]
    inv_std = 1.0 / np.sqrt(var + eps)  # [..., 1]; Python float eps keeps the dtype
    centered *= inv_std  # normalized in place
    return centered, inv_std


def layer_norm(x: np.ndarray, p: LayerNormParams, eps: float = 1e-5) -> np.ndarray:
    """LN(x) = gain * (x - mean) / sqrt(var + eps) + bias per position (Ba et al. 2016, eq. 4)."""
    check_dtypes(x=x, gain=p.gain, bias=p.bias)
    x_hat, _ = normalize(x, eps)
    x_hat *= p.gain
    x_hat += p.bias
    return x_hat


# ---------------------------------------------------------------------------
# Activations: ReLU (Vaswani et al. 2017) and GELU (Hendrycks & Gimpel 2016)
# ---------------------------------------------------------------------------


class Activation(str, Enum):
    """The non-linearity between the two layers of the feed-forward network."""

    RELU = "relu"  # max(0, x): the 2017 Transformer (eq. 2)
    GELU = "gelu"  # x Phi(x), exact: BERT; torch.nn.functional.gelu(x)
    GELU_TANH = "gelu_tanh"  # the tanh approximation: GPT-2; F.gelu(x, approximate="tanh")


# NumPy has no erf. math.erf is exact in float64 but works one number at a time,
# so the exact GELU is slow on big arrays; the tanh form is the fast one.
_erf = np.frompyfunc(math.erf, 1, 1)
GELU_TANH_COEFF = 0.044715  # Hendrycks & Gimpel 2016, section 2


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = P(Z <= x) for a standard normal Z: 0.5 (1 + erf(x / sqrt(2))), dtype kept."""
    return 0.5 * (1 + _erf(x / math.sqrt(2)).astype(x.dtype))


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))), Hendrycks & Gimpel 2016, section 2.

    The input weighted by how likely a standard normal variable is to be below
    it: like ReLU for large |x|, but smooth, and slightly negative for small x < 0.
    """
    return x * normal_cdf(x)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): the approximation of GELU that GPT-2 uses."""
    # x * x * x rather than x**3: NumPy computes a power of 3 with a slow pow() per element.
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + GELU_TANH_COEFF * x * x * x)))


def activate(x: np.ndarray, activation: Activation = Activation.RELU) -> np.ndarray:
    """Apply the named activation element-wise (dtype kept)."""
    activation = Activation(activation)
    if activation is Activation.GELU:
        return gelu(x)
    if activation is Activation.GELU_TANH:
        return gelu_tanh(x)
    return np.maximum(x, 0)


# ---------------------------------------------------------------------------
# Position-wise feed-forward network (Vaswani et al. 2017, section 3.3)
# ---------------------------------------------------------------------------


@dataclass
class FeedForwardParams:
    """W_1 ``[d_model, d_ff]``, b_1 ``[d_ff]``, W_2 ``[d_ff, d_model]``, b_2 ``[d_model]``."""

    w1: np.ndarray  # [d_model, d_ff]
    b1: np.ndarray  # [d_ff]
    w2: np.ndarray  # [d_ff, d_model]
    b2: np.ndarray  # [d_model]


def init_feed_forward(d_model: int, d_ff: int, rng: np.random.Generator, dtype=np.float64) -> FeedForwardParams:
    """Uniform(+-1/sqrt(fan_in)) weights and biases, as ``nn.Linear`` starts."""
    a1, a2 = 1 / math.sqrt(d_model), 1 / math.sqrt(d_ff)
    return FeedForwardParams(
        w1=rng.uniform(-a1, a1, (d_model, d_ff)).astype(dtype),
        b1=rng.uniform(-a1, a1, d_ff).astype(dtype),
        w2=rng.uniform(-a2, a2, (d_ff, d_model)).astype(dtype),
        b2=rng.uniform(-a2, a2, d_model).astype(dtype),
    )


def feed_forward(x: np.ndarray, p: FeedForwardParams, activation: Activation = Activation.RELU) -> np.ndarray:
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, Vaswani et al. 2017, eq. 2 (or GELU for max(0, .)).

    Applied to each position separately and identically: a 1x1 convolution.
    """
    check_dtypes(x=x, w1=p.w1, b1=p.b1, w2=p.w2, b2=p.b2)
    hidden = activate(linear(x, p.w1, p.b1), activation)  # [B, T, d_model] -> [B, T, d_ff]
    return linear(hidden, p.w2, p.b2)  # [B, T, d_ff] -> [B, T, d_model]
