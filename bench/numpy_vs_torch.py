"""NumPy Transformer pieces against PyTorch CPU: speed, attention memory, training time.

    python bench/numpy_vs_torch.py [--quick] [--skip-train] [--keep-coretype] [--keep-blas-spin]

Prints figures; asserts nothing (speed is measured, never a test). Each thread
count runs in its own subprocess, because OpenBLAS reads OPENBLAS_NUM_THREADS
once at start-up (threadpoolctl is not a dependency); PyTorch gets the same
count through torch.set_num_threads, and NumPy's attention gets it as
``workers`` (its heads shared among that many threads, as PyTorch's kernel
shares them among its pool). NumPy runs the fast attention
(``runnable.fast_attention``, selected with ``attention=fast(workers=N)``); the
memory figures show the readable one beside it. Within a process each library is timed in
its own block (all NumPy runs, then all PyTorch runs), never interleaved, so
neither warms the caches or wakes the thread pool for the other.

Targets (float32): NumPy within 1.1x of PyTorch at one thread and 1.3x at two,
for multi-head self-attention and a whole encoder layer, at (batch 8, seq 128,
d_model 256, 8 heads) and (batch 1, seq 512, d_model 512, 8 heads); attention
peak memory at seq 2048 at most 1.5x one [T, T] matrix per head; the training
demo at 99% within 60 s for seeds 0, 1, 2.

Some machines set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) to work around old
OpenBLAS bugs; that pins a slower kernel. The workers drop both (only in their
own environment) unless --keep-coretype, and report the kernel that runs. They
also keep glibc from returning freed memory to the OS (see ``run_worker``),
which otherwise costs both libraries page faults on every call, and stop idle
OpenBLAS threads from busy-waiting (see ``_shared.BLAS_SPIN``) unless --keep-blas-spin.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _shared import load_note, thread_env  # noqa: E402

from runnable import attention as readable  # noqa: E402
from runnable.attention import causal_mask, init_attention  # noqa: E402
from runnable.fast_attention import fast, multi_head_attention, scaled_dot_product_attention  # noqa: E402
from runnable.transformer import TransformerConfig, encoder_layer, init_encoder_layer  # noqa: E402

SHAPES = [(8, 128, 256, 8), (1, 512, 512, 8)]  # batch, seq, d_model, heads
TARGETS = {1: 1.1, 2: 1.3}



def openblas_kernel() -> str:
    """The OpenBLAS core NumPy's bundled library chose (e.g. SkylakeX, Haswell), or 'unknown'."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*.so*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return "unknown"


def median_seconds(fn, min_reps: int, min_time: float) -> float:
    """Median wall time of ``fn()`` after two warm-up calls, over at least ``min_reps`` runs and ``min_time`` s."""
    fn()
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < min_time and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def numpy_block(shape, reps, min_time, threads):
    b, t, d, h = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, t, d)).astype(np.float32)
    cfg = TransformerConfig(src_vocab=1, tgt_vocab=1, d_model=d, n_heads=h, d_ff=4 * d)
    attn = init_attention(d, rng, np.float32)
    layer = init_encoder_layer(cfg, rng, np.float32)
    return {
        "mha": median_seconds(lambda: multi_head_attention(x, x, attn, h, workers=threads), reps, min_time),
        "encoder_layer": median_seconds(
            lambda: encoder_layer(x, layer, h, attention=fast(workers=threads)), reps, min_time
        ),
    }


def torch_block(shape, reps, min_time, threads):
    import torch

    torch.set_num_threads(threads)
    b, t, d, h = shape
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((b, t, d)).astype(np.float32))
    mha = torch.nn.MultiheadAttention(d, h, dropout=0.0, batch_first=True).eval()
    layer = torch.nn.TransformerEncoderLayer(d, h, dim_feedforward=4 * d, dropout=0.0, batch_first=True).eval()
    with torch.inference_mode():
        return {
            "mha": median_seconds(lambda: mha(x, x, x, need_weights=False), reps, min_time),
            "encoder_layer": median_seconds(lambda: layer(x), reps, min_time),
        }


def worker(threads: int, reps: int, min_time: float, rounds: int) -> None:
    """Runs in a subprocess whose BLAS thread count is already set; prints one JSON line.

    Each round times NumPy's whole block, then PyTorch's whole block; the figure
    per library is the median over rounds of its block medians, so a burst of
    load from other processes during one block does not decide the ratio.
    """
    results = {"threads": threads, "kernel": openblas_kernel(), "shapes": []}
    numpy_rounds, torch_rounds = [], []
    for _ in range(rounds):
        numpy_rounds.append([numpy_block(s, reps, min_time, threads) for s in SHAPES])  # NumPy's block
        torch_rounds.append([torch_block(s, reps, min_time, threads) for s in SHAPES])  # then PyTorch's
    for i, shape in enumerate(SHAPES):
        n = {piece: statistics.median(r[i][piece] for r in numpy_rounds) for piece in ("mha", "encoder_layer")}
        t = {piece: statistics.median(r[i][piece] for r in torch_rounds) for piece in ("mha", "encoder_layer")}
        results["shapes"].append({"shape": shape, "numpy": n, "torch": t})
    print(json.dumps(results))


def run_worker(threads: int, args) -> dict:
    env = thread_env(threads, spin=args.keep_blas_spin)
    if not args.keep_coretype:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    if not args.default_malloc:
        # glibc hands large freed blocks straight back to the OS, so every forward
        # pass page-faults its temporaries in again (~1,500 faults, ~5 ms of kernel
        # time per encoder layer, for NumPy and PyTorch alike). Keeping freed memory
        # measures the libraries rather than the kernel; both share the process.
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(32 * 2**20))
        env.setdefault("MALLOC_TRIM_THRESHOLD_", str(2**30))
    cmd = [
        sys.executable, __file__, "--worker", str(threads),
        "--reps", str(args.reps), "--min-time", str(args.min_time), "--rounds", str(args.rounds),
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=1200)
    return json.loads(out.stdout.strip().splitlines()[-1])


def attention_memory(t: int = 2048, d_model: int = 512, heads: int = 8) -> None:
    """Peak bytes NumPy allocates inside attention, against one [T, T] float32 matrix per head."""
    rng = np.random.default_rng(0)
    d_k = d_model // heads
    q, k, v = (rng.standard_normal((1, heads, t, d_k)).astype(np.float32) for _ in range(3))
    x = rng.standard_normal((1, t, d_model)).astype(np.float32)
    p = init_attention(d_model, rng, np.float32)
    mask = causal_mask(t)
    one_matrix_per_head = heads * t * t * 4
    cases = [
        ("scaled_dot_product_attention, causal", lambda: scaled_dot_product_attention(q, k, v, mask)),
        ("scaled_dot_product_attention, causal, chunk 256", lambda: scaled_dot_product_attention(q, k, v, mask, chunk_size=256)),
        ("readable multi_head_attention, causal", lambda: readable.multi_head_attention(x, x, p, heads, mask)),
        ("fast multi_head_attention, causal", lambda: multi_head_attention(x, x, p, heads, mask)),
        ("fast multi_head_attention, causal, 2 workers", lambda: multi_head_attention(x, x, p, heads, mask, workers=2)),
    ]
    print(f"\nAttention peak memory at T={t}, {heads} heads, float32 (one [T, T] per head = {one_matrix_per_head / 2**20:.0f} MiB; target <= 1.5x)")
    for name, fn in cases:
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {name:<48s} {peak / 2**20:8.1f} MiB  = {peak / one_matrix_per_head:.2f}x")


def training_times(seeds=(0, 1, 2)) -> None:
    print("\nTraining demo (python -m runnable.train_toy --seed N), wall time of the whole command:")
    for seed in seeds:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "runnable.train_toy", "--seed", str(seed)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        wall = time.perf_counter() - t0
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr.strip()
        print(f"  seed {seed}: exit {proc.returncode}, {wall:5.1f} s wall | {last}")


def report(results: list[dict]) -> None:
    print(f"NumPy {np.__version__}, OpenBLAS kernel: {results[0]['kernel']}; float32; medians")
    print(f"{'threads':>7}  {'shape (B, T, d, h)':<20} {'piece':<14} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6}  target")
    for r in results:
        for s in r["shapes"]:
            for piece in ("mha", "encoder_layer"):
                n, t = s["numpy"][piece] * 1e3, s["torch"][piece] * 1e3
                ratio, target = n / t, TARGETS[r["threads"]]
                verdict = "ok" if ratio <= target else "MISSED"
                shape = str(tuple(s["shape"]))
                print(f"{r['threads']:>7}  {shape:<20} {piece:<14} {n:9.2f} {t:9.2f} {ratio:6.2f}  <= {target} {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, default=20, help="minimum timed runs per measurement")
    parser.add_argument("--min-time", type=float, default=1.0, help="minimum seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating NumPy/PyTorch blocks per thread count")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, skip memory and training")
    parser.add_argument("--skip-train", action="store_true", help="do not time the training demo")
    parser.add_argument("--keep-coretype", action="store_true", help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE")
    parser.add_argument("--keep-blas-spin", action="store_true", help="keep OpenBLAS's default idle busy-wait")
    parser.add_argument("--default-malloc", action="store_true", help="do not tune glibc malloc in the workers")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.reps, args.min_time, args.rounds)
        return 0
    if args.quick:
        args.reps, args.min_time, args.rounds = 5, 0.2, 1
    print(f"OPENBLAS_CORETYPE in this shell: {os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
          f"{' (kept)' if args.keep_coretype else ' (dropped in the workers)'}")
    load_before = os.getloadavg()[0]
    results = [run_worker(n, args) for n in (1, 2)]
    report(results)
    print(load_note(load_before, os.getloadavg()[0]))
    if not args.quick:
        attention_memory()
        if not args.skip_train:
            # train_toy pins OpenBLAS to one thread itself (--blas-threads 1).
            training_times()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
