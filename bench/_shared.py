"""What the NumPy-against-PyTorch benchmarks share: the worker environment and the load note.

OpenBLAS reads OPENBLAS_NUM_THREADS once, when NumPy loads, so each thread
count is measured in a subprocess started with this environment.
"""

from __future__ import annotations

import os

# OpenBLAS's idle threads busy-wait for 2**28 cycles (about 0.1 s) after each
# call before they sleep, so after one threaded product the pool keeps a core
# busy while the attention workers need both: measured at 2 threads, the
# threaded heads were no faster than one thread until the wait was cut to
# 2**16 cycles (about 20 us; values up to 2**20 did as well, 2**24 did not).
# It only changes how long OpenBLAS waits for more work, not how it computes.
BLAS_SPIN = {"OPENBLAS_THREAD_TIMEOUT": "16"}


def thread_env(threads: int, *, spin: bool = False) -> dict[str, str]:
    """This process's environment with every BLAS/OpenMP pool set to ``threads`` (and, unless
    ``spin``, OpenBLAS's idle threads told to sleep soon: ``BLAS_SPIN``)."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if not spin:
        env.update(BLAS_SPIN)
    return env


def load_note(before: float, after: float) -> str:
    """The 1-minute load average around a run, and a warning when other processes competed."""
    note = f"load average (1 min) before {before:.2f}, after {after:.2f} on {os.cpu_count()} cores"
    if max(before, after) > 1.5:
        note += ": other processes were competing, treat the figures as rough"
    return note
