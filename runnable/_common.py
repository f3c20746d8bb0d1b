"""Small helpers shared by every module in ``runnable/``: one home for each check and each stable formula.

Kept to what more than one idea needs, so each appears once:

* input checks with errors that say how to fix them: ``check_float`` (float32 or
  float64 only), ``check_dtypes`` (every array of one call in one dtype),
  ``check_mask`` (boolean masks only, True = may attend), ``check_tokens`` and
  ``lookup`` (token ids inside the vocabulary);
* a numerically stable softmax and log-softmax (attention, the loss,
  sampling, beam search) and a stable logistic sigmoid (the LSTM and GRU gates).

Every function keeps the dtype it is given: float32 in gives float32 out. Under
NumPy 2's promotion rules (NEP 50) a Python ``float`` adapts to the array, but a
NumPy float64 scalar such as ``np.sqrt(d)`` does not, and quietly turns a float32
array into float64. Use ``math.sqrt`` or cast scalars to ``x.dtype``.
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

MASK_CONVENTION = (
    "runnable/ masks are boolean and True means 'may attend' (the convention of "
    "torch.nn.functional.scaled_dot_product_attention's boolean attn_mask). "
    "An additive float mask such as PyTorch's generate_square_subsequent_mask (0 / -inf) "
    "converts with `mask == 0`; nn.MultiheadAttention's boolean masks (True = masked out) with `~mask`."
)


def check_float(name: str, x: np.ndarray) -> np.ndarray:
    """Return ``x`` as an array, or raise if it is not float32 or float64.

    Integer input would make every later step silently float64, and float16
    loses too much precision for the parity tests to mean anything.
    """
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} has dtype {x.dtype}; expected float32 or float64. "
            f"Convert it first, e.g. {name}.astype(np.float32)."
        )
    return x


def check_dtypes(**arrays: np.ndarray) -> np.dtype:
    """The one float dtype shared by all ``arrays`` (named by keyword); raise if they differ.

    NumPy would silently promote float32 activations times float64 weights to
    float64, so a model could "run in float32" while computing in float64. The
    first keyword sets the expected dtype; each other array must match it.
    """
    (first_name, first), *rest = arrays.items()
    dtype = check_float(first_name, first).dtype
    for name, value in rest:
        value = check_float(name, value)
        if value.dtype != dtype:
            raise TypeError(
                f"{name} is {value.dtype} but {first_name} is {dtype}; give them one dtype, "
                f"e.g. {name}.astype(np.{dtype})"
            )
    return dtype


def check_mask(mask: np.ndarray | None, name: str = "mask") -> np.ndarray | None:
    """``mask`` as a boolean array (None stays None); raise for any other dtype.

    A float mask would otherwise be cast to bool, turning PyTorch's -inf ("never
    attend") into True ("may attend"): the decoder would see the future.
    """
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{name} has dtype {mask.dtype}; {MASK_CONVENTION}")
    return mask


def check_tokens(name: str, tokens: np.ndarray, vocab_size: int) -> np.ndarray:
    """``tokens`` as an integer array whose every id is in 0..vocab_size-1; raise otherwise.

    NumPy reads ``table[-1]`` as the last row, so a negative id would silently
    fetch another token's embedding; an id past the end would fail deep inside.
    """
    tokens = np.asarray(tokens)
    if not np.issubdtype(tokens.dtype, np.integer):
        raise TypeError(f"{name} has dtype {tokens.dtype}; token ids must be integers, e.g. {name}.astype(np.int64)")
    outside = (tokens < 0) | (tokens >= vocab_size)
    if np.any(outside):
        where = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{name}{list(where)} is {int(tokens[where])}, outside the vocabulary 0..{vocab_size - 1}; "
            "map unknown or padding tokens to an id the model has (negative ids would silently read the last rows)"
        )
    return tokens


def lookup(table: np.ndarray, tokens: np.ndarray, name: str = "tokens") -> np.ndarray:
    """Rows of an embedding ``table`` ``[V, d]`` for token ids ``[...]``: ``[..., d]``, ids checked first."""
    return table[check_tokens(name, tokens, table.shape[0])]  # [...] -> [..., d]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``: exp(x - max) / sum(exp(x - max)).

    Subtracting the row maximum changes nothing mathematically (it cancels in the
    ratio) but keeps ``exp`` from overflowing.

    Masked positions are ``-inf``. A row that is entirely ``-inf`` (every key
    masked) has no meaningful distribution; it gives all zeros, the same choice as
    ``torch.nn.functional.scaled_dot_product_attention``, instead of NaN.
    """
    x = check_float("x", x)
    row_max = np.max(x, axis=axis, keepdims=True)  # [..., n] -> [..., 1]
    row_max = np.where(np.isneginf(row_max), 0, row_max)  # fully masked row: exp(-inf - 0) = 0, not NaN
    e = np.exp(x - row_max)
    total = np.sum(e, axis=axis, keepdims=True)  # [..., n] -> [..., 1]
    return e / np.where(total == 0, 1, total)  # fully masked row: 0 / 1 = 0 rather than 0 / 0


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(x) = x - max - log(sum(exp(x - max))) along ``axis``, without overflow or log(0)."""
    x = check_float("x", x)
    shifted = x - np.max(x, axis=axis, keepdims=True)  # [..., n]; max: -> [..., 1]
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), stable for large |x|, dtype kept.

    The textbook form overflows ``exp(-x)`` for very negative x (a warning and
    an inf); 0.5 * (1 + tanh(x / 2)) is the same function with no overflow.
    """
    return 0.5 * (1 + np.tanh(0.5 * x))
