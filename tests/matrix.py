"""Run the ``runnable/`` tests under every OpenBLAS kernel this CPU can execute, with several seeds.

``make test-matrix`` calls this (it is not part of ``make test``). It proves that
the numerical tests do not depend on one machine: each OpenBLAS kernel rounds
its matrix products differently, and each seed draws other inputs. Every run
also tightens every tolerance ten times (``RUNNABLE_TEST_MARGIN=10``), so a pass
means each comparison had an order of magnitude to spare; at the end the
closest calls are listed as fractions of the bound ``make test`` applies.

OpenBLAS loads the kernel named by ``OPENBLAS_CORETYPE`` when the CPU supports
it and the build includes it, and otherwise another one; ``OPENBLAS_VERBOSE=2``
makes it say which. Requested kernels that load the same code run once.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ("Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX", "Cooperlake")
SEEDS = (0, 1, 2, 3, 4)
MARGIN = 10
RUN_TIMEOUT_S = 900  # one pytest run; about 20 s on a quiet two-core machine


def loaded_kernel(requested: str) -> str:
    """The kernel OpenBLAS actually loads for ``OPENBLAS_CORETYPE=requested``."""
    env = {**os.environ, "OPENBLAS_CORETYPE": requested, "OPENBLAS_VERBOSE": "2"}
    probe = subprocess.run(
        [sys.executable, "-c", "import numpy as np; a = np.ones((64, 64)); a @ a"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    found = re.findall(r"Core: (\w+)", probe.stderr)
    if probe.returncode != 0 or not found:
        return f"unusable (exit {probe.returncode})"
    return found[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", default=",".join(KERNELS), help="OPENBLAS_CORETYPE values, comma-separated")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="RUNNABLE_TEST_SEED values")
    parser.add_argument("--margin", type=float, default=MARGIN, help="divide every tolerance by this")
    parser.add_argument("pytest_args", nargs="*", default=["tests/runnable"], help="what pytest runs")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]

    kernels: dict[str, str] = {}  # loaded kernel -> the first name that loads it
    for requested in args.kernels.split(","):
        loaded = loaded_kernel(requested)
        print(f"OPENBLAS_CORETYPE={requested:<12} loads {loaded}", flush=True)
        if not loaded.startswith("unusable"):
            kernels.setdefault(loaded, requested)

    report = Path(tempfile.mkstemp(prefix="tolerance-report-", suffix=".tsv")[1])
    failures: list[str] = []
    rows: list[tuple[str, int, str, float]] = []
    for loaded, requested in kernels.items():
        for seed in seeds:
            env = {
                **os.environ,
                "OPENBLAS_CORETYPE": requested,
                "RUNNABLE_TEST_SEED": str(seed),
                "RUNNABLE_TEST_MARGIN": str(args.margin),
                "RUNNABLE_TEST_REPORT": str(report),
                "REQUIRE_TORCH": "1",
            }
            start = time.monotonic()
            try:
                run = subprocess.run(
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args],
                    cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
                )
                output, ok = run.stdout, run.returncode == 0
                summary = (output.strip().splitlines() or ["no output"])[-1]
            except subprocess.TimeoutExpired as timeout:
                output, ok = str(timeout.stdout or ""), False
                summary = f"timed out after {RUN_TIMEOUT_S} s"
            rows.append((loaded, seed, summary, time.monotonic() - start))
            print(f"{loaded:<12} seed {seed}: {summary}", flush=True)
            if not ok:
                failures.append(f"{loaded} seed {seed}")
                print(output[-4000:], file=sys.stderr)

    worst: dict[str, float] = defaultdict(float)
    for line in report.read_text(encoding="utf-8").splitlines():
        ratio, test, label = line.split("\t", 2)
        if test.startswith("tests/runnable/test_tolerance.py"):
            continue  # the helpers' own tests sit near their bounds on purpose
        worst[test] = max(worst[test], float(ratio))
    report.unlink()
    print(f"\n{len(kernels)} kernels x {len(seeds)} seeds, every tolerance divided by {args.margin:g}")
    print("closest comparisons, as a fraction of the bound `make test` applies:")
    for test, ratio in sorted(worst.items(), key=lambda item: -item[1])[:12]:
        print(f"  {ratio / args.margin:8.4f}  {test}")
    if failures:
        print(f"FAILED: {', '.join(failures)}")
        return 1
    print(f"all {len(rows)} runs passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
