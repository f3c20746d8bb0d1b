"""Small numerical helpers shared by every module in ``runnable/``.

Kept to the few functions that more than one idea needs, so each appears once:
a numerically stable softmax (used by attention for seq2seq and by the
Transformer), a stable logistic sigmoid (the gates of the LSTM and GRU), and a
dtype check that turns a silent float64 promotion into a clear error.

Every function keeps the dtype it is given: float32 in gives float32 out. Under
NumPy 2's promotion rules (NEP 50) a Python ``float`` adapts to the array, but a
NumPy float64 scalar such as ``np.sqrt(d)`` does not, and quietly turns a float32
array into float64. Use ``math.sqrt`` or cast scalars to ``x.dtype``.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


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


def softmax(x: np.ndarray, axis: int = -1, out: np.ndarray | None = None) -> np.ndarray:
    """Numerically stable softmax along ``axis``: exp(x - max) / sum(exp(x - max)).

    Subtracting the row maximum changes nothing mathematically (it cancels in the
    ratio) but keeps ``exp`` from overflowing. Pass ``out=x`` to work in place, so
    attention over a long sequence needs one score matrix, not two.

    Masked positions are ``-inf``. A row that is entirely ``-inf`` (every key
    masked) has no meaningful distribution; it gives all zeros, the same choice as
    ``torch.nn.functional.scaled_dot_product_attention``, instead of NaN.
    """
    x = check_float("x", x)
    if out is None:
        out = np.empty_like(x)
    row_max = np.max(x, axis=axis, keepdims=True)  # [..., n] -> [..., 1]
    # A fully masked row has max -inf; -inf - (-inf) would be NaN, so shift by 0.
    row_max[np.isneginf(row_max)] = 0
    np.subtract(x, row_max, out=out)
    np.exp(out, out=out)
    total = np.sum(out, axis=axis, keepdims=True)  # [..., n] -> [..., 1]
    total[total == 0] = 1  # fully masked row: 0 / 1 = 0 rather than 0 / 0
    np.divide(out, total, out=out)
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), stable for large |x|, dtype kept.

    The textbook form overflows ``exp(-x)`` for very negative x (a warning and
    an inf); 0.5 * (1 + tanh(x / 2)) is the same function with no overflow.
    """
    return 0.5 * (1 + np.tanh(0.5 * x))


# Names under which OpenBLAS builds export their thread setter (NumPy >= 2 wheels
# ship scipy-openblas with a prefixed, 64-bit-integer symbol).
_OPENBLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def set_blas_threads(n: int) -> bool:
    """Ask NumPy's bundled OpenBLAS to use ``n`` threads; False if no OpenBLAS was found.

    OPENBLAS_NUM_THREADS only counts before NumPy is loaded; this works after.
    Small matrices (the toy models here) gain nothing from BLAS threads, and on
    two busy cores the threads mostly spin waiting for each other.
    """
    setter = _openblas_function(_OPENBLAS_SETTERS)
    if setter is None:
        return False
    setter(int(n))
    return True


# Names under which OpenBLAS builds export their thread getter.
_OPENBLAS_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def get_blas_threads() -> int | None:
    """The number of threads NumPy's bundled OpenBLAS uses now; None if no OpenBLAS was found."""
    getter = _openblas_function(_OPENBLAS_GETTERS)
    return None if getter is None else int(getter())


@functools.cache
def _openblas_function(names: tuple[str, ...]):
    """The first of ``names`` exported by NumPy's bundled OpenBLAS (a ctypes function), or None.

    Looked up once: the attention threads ask for the thread count on every call.
    """
    import ctypes
    import glob
    import os

    libs_dir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libs_dir, "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            function = getattr(lib, name, None)
            if function is not None:
                return function
    return None


# The OpenBLAS thread count is process-wide: two overlapping blocks would each
# restore the other's "previous" count. Overlapping blocks take turns instead.
_BLAS_SETTING = threading.Lock()


@contextlib.contextmanager
def single_threaded_blas():
    """Run the block with OpenBLAS on one thread, then restore its previous count.

    For code that spreads work over its own threads: each of them calling a
    multi-threaded BLAS would put twice as many busy threads as cores. The
    setting is process-wide, so blocks entered from different threads run one
    after the other (a lock), never interleaved.
    """
    with _BLAS_SETTING:
        previous = get_blas_threads()
        if previous is None or previous == 1:
            yield
            return
        set_blas_threads(1)
        try:
            yield
        finally:
            set_blas_threads(previous)
