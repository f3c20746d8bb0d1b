"""How many threads NumPy's bundled OpenBLAS uses: read it, set it, hold it at one for a block.

Not part of any paper: machinery for speed, used by the training commands
(``--blas-threads``), by ``runnable.fast_attention`` (its own threads must not
each start a multi-threaded BLAS), by the benchmarks and by the tests.

``OPENBLAS_NUM_THREADS`` only counts before NumPy is loaded; the functions here
work after, by calling OpenBLAS's own setter through ctypes. Small matrices (the
models here) gain nothing from BLAS threads, and on two busy cores the threads
mostly spin waiting for each other.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

# Names under which OpenBLAS builds export their thread setter (NumPy >= 2 wheels
# ship scipy-openblas with a prefixed, 64-bit-integer symbol).
_OPENBLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)

# Names under which OpenBLAS builds export their thread getter.
_OPENBLAS_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def set_blas_threads(n: int) -> bool:
    """Ask NumPy's bundled OpenBLAS to use ``n`` threads; False if no OpenBLAS was found."""
    setter = _openblas_function(_OPENBLAS_SETTERS)
    if setter is None:
        return False
    setter(int(n))
    return True


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
