"""Train a small Transformer to reverse sequences, with the NumPy code of this package.

    python -m runnable.train_toy [--seed N] [--steps N] [--batch-size N] ...

The task: read 10 random tokens, write them in reverse order. Output position i
must copy input position 9 - i, so the model has to learn to attend by position
(the sinusoidal encodings of section 3.5 make that a linear map). Every batch is
freshly sampled, so the model never sees a training sequence twice, and the
1,000 held-out test sequences come from their own random stream.

Training stops early once the model is reliably right on the fresh batches:
under teacher forcing a sequence is entirely correct exactly when greedy
decoding reproduces it (each greedy step then sees the true prefix), so the
exact-match rate of each new, unseen batch is an unbiased estimate of the
held-out greedy accuracy at no extra cost. The last line gives the greedy
exact-match accuracy on the held-out set; the exit status is 1 if it is below
``--target`` or training took longer than ``--time-limit`` seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from runnable.blas import set_blas_threads
from runnable.adam import adam_step, init_adam, warmup_lr
from runnable.backward import cross_entropy, transformer_backward, transformer_forward
from runnable.transformer import TransformerConfig, TransformerParams, greedy_decode, init_transformer


@dataclass(frozen=True)
class ToySettings:
    """Everything that defines a run; the defaults reach 99% in well under a minute on 2 cores."""

    seed: int = 0
    seq_len: int = 10
    n_symbols: int = 10  # tokens 0..n_symbols-1; one more id is the decoder's start token
    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    n_layers: int = 1  # encoder layers and decoder layers each
    norm_first: bool = True  # pre-norm trains faster from scratch with a short warm-up
    batch_size: int = 64
    max_steps: int = 3000
    lr: float = 3e-3  # peak learning rate, reached at the end of the warm-up
    warmup: int = 100
    dtype: str = "float32"
    log_every: int = 50
    stop_accuracy: float = 0.998  # early stop when recent fresh batches are this exact
    stop_window: int = 30  # ... averaged over this many batches
    test_size: int = 1000
    time_limit: float | None = None  # seconds; stop training when exceeded


@dataclass
class ToyResult:
    """What a run produced: the model, its learning curve and the held-out score."""

    params: TransformerParams
    config: TransformerConfig
    steps: int = 0
    seconds: float = 0.0
    test_accuracy: float = float("nan")
    losses: list[float] = field(default_factory=list)  # one per step
    batch_accuracies: list[float] = field(default_factory=list)  # exact match per step, teacher forced


def model_config(s: ToySettings) -> TransformerConfig:
    return TransformerConfig(
        src_vocab=s.n_symbols,
        tgt_vocab=s.n_symbols + 1,
        d_model=s.d_model,
        n_heads=s.n_heads,
        d_ff=s.d_ff,
        n_encoder_layers=s.n_layers,
        n_decoder_layers=s.n_layers,
        norm_first=s.norm_first,
    )


def make_batch(rng: np.random.Generator, s: ToySettings, n: int):
    """Source ``[n, T]``, decoder input (start token, then the reversal shifted right) and target."""
    src = rng.integers(0, s.n_symbols, size=(n, s.seq_len))  # [n, T]
    tgt = src[:, ::-1]  # the answer: the source reversed
    bos = np.full((n, 1), s.n_symbols)  # start token id = n_symbols
    tgt_in = np.concatenate([bos, tgt[:, :-1]], axis=1)  # [n, T]: shifted right (teacher forcing)
    return src, tgt_in, np.ascontiguousarray(tgt)


def lr_at(step: int, s: ToySettings) -> float:
    """The paper's warm-up schedule (eq. 3), rescaled so that its peak is ``s.lr``."""
    peak = warmup_lr(s.warmup, s.d_model, s.warmup)
    return s.lr * warmup_lr(step, s.d_model, s.warmup) / peak


def exact_match(predicted: np.ndarray, target: np.ndarray) -> float:
    """Fraction of sequences whose every token is right."""
    return float(np.mean(np.all(predicted == target, axis=1)))


def train(s: ToySettings, on_log: Callable[[str], None] | None = None) -> ToyResult:
    """Train with Adam on fresh batches until the stop rule, ``max_steps`` or the time limit."""
    dtype = np.dtype(s.dtype)
    rng = np.random.default_rng(s.seed)
    cfg = model_config(s)
    params = init_transformer(cfg, rng, dtype)
    state = init_adam(params)
    result = ToyResult(params=params, config=cfg)
    start = time.perf_counter()
    for step in range(1, s.max_steps + 1):
        src, tgt_in, tgt = make_batch(rng, s, s.batch_size)
        logits, cache = transformer_forward(src, tgt_in, params, cfg)  # [B, T, V]
        loss, d_logits = cross_entropy(logits, tgt)
        adam_step(params, transformer_backward(d_logits, cache), state, lr_at(step, s))
        result.losses.append(float(loss))
        result.batch_accuracies.append(exact_match(logits.argmax(axis=-1), tgt))
        result.steps, result.seconds = step, time.perf_counter() - start
        recent = result.batch_accuracies[-s.stop_window :]
        done = len(recent) == s.stop_window and np.mean(recent) >= s.stop_accuracy
        out_of_time = s.time_limit is not None and result.seconds > s.time_limit
        if on_log and (step % s.log_every == 0 or done or out_of_time):
            on_log(
                f"step {step:5d}  loss {loss:.4f}  batch exact-match {result.batch_accuracies[-1]:6.1%}"
                f"  lr {lr_at(step, s):.2e}  {result.seconds:5.1f} s"
            )
        if done or out_of_time:
            break
    test_rng = np.random.default_rng([s.seed, 1_000_003])  # a stream of its own: held out
    src, _, tgt = make_batch(test_rng, s, s.test_size)
    predicted, _ = greedy_decode(src, params, cfg, bos=s.n_symbols, max_len=s.seq_len)
    result.test_accuracy = exact_match(predicted, tgt)
    result.seconds = time.perf_counter() - start
    return result


def build_parser() -> argparse.ArgumentParser:
    defaults = ToySettings()
    parser = argparse.ArgumentParser(
        prog="python -m runnable.train_toy",
        description="Train a small NumPy Transformer to reverse sequences of tokens.",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)")
    parser.add_argument("--steps", type=int, default=defaults.max_steps, help="maximum training steps")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seq-len", type=int, default=defaults.seq_len)
    parser.add_argument("--symbols", type=int, default=defaults.n_symbols, help="distinct tokens in a sequence")
    parser.add_argument("--d-model", type=int, default=defaults.d_model)
    parser.add_argument("--heads", type=int, default=defaults.n_heads)
    parser.add_argument("--d-ff", type=int, default=defaults.d_ff)
    parser.add_argument("--layers", type=int, default=defaults.n_layers, help="encoder and decoder layers each")
    parser.add_argument("--post-norm", action="store_true", help="post-norm as in the paper (default: pre-norm)")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=defaults.warmup, help="warm-up steps")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=defaults.dtype)
    parser.add_argument("--log-every", type=int, default=defaults.log_every)
    parser.add_argument("--test-size", type=int, default=1000, help="held-out sequences")
    parser.add_argument("--target", type=float, default=0.99, help="held-out exact match needed to pass")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds allowed (default %(default)s)")
    parser.add_argument(
        "--blas-threads", type=int, default=1, help="OpenBLAS threads (default 1: the matrices are too small to share)"
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> ToySettings:
    return ToySettings(
        seed=args.seed,
        seq_len=args.seq_len,
        n_symbols=args.symbols,
        d_model=args.d_model,
        n_heads=args.heads,
        d_ff=args.d_ff,
        n_layers=args.layers,
        norm_first=not args.post_norm,
        batch_size=args.batch_size,
        max_steps=args.steps,
        lr=args.lr,
        warmup=args.warmup,
        dtype=args.dtype,
        log_every=args.log_every,
        test_size=args.test_size,
        time_limit=args.time_limit,
    )


def check_settings(s: ToySettings) -> list[str]:
    """Problems with the settings, each saying how to fix it (empty when fine)."""
    problems = []
    flags = {
        "seq_len": "--seq-len",
        "n_symbols": "--symbols",
        "d_model": "--d-model",
        "n_heads": "--heads",
        "d_ff": "--d-ff",
        "n_layers": "--layers",
        "batch_size": "--batch-size",
        "max_steps": "--steps",
        "log_every": "--log-every",
        "test_size": "--test-size",
    }
    for name, flag in flags.items():
        if getattr(s, name) < 1:
            problems.append(f"{flag} must be at least 1, got {getattr(s, name)}")
    if s.n_heads >= 1 and s.d_model % s.n_heads:
        problems.append(f"--d-model {s.d_model} must be divisible by --heads {s.n_heads}")
    if s.d_model % 2:
        problems.append(f"--d-model {s.d_model} must be even (sine/cosine position encodings)")
    if s.lr <= 0 or s.warmup < 1:
        problems.append("--lr must be positive and --warmup at least 1")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    problems = check_settings(settings)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.blas_threads < 1:
        print(f"error: --blas-threads must be at least 1, got {args.blas_threads}", file=sys.stderr)
        return 2
    set_blas_threads(args.blas_threads)
    result = train(settings, on_log=lambda line: print(line, flush=True))
    passed = result.test_accuracy >= args.target and result.seconds <= args.time_limit
    print(
        f"held-out exact match {result.test_accuracy:.1%} on {settings.test_size} sequences"
        f" after {result.steps} steps in {result.seconds:.1f} s"
        f" ({'target met' if passed else 'TARGET MISSED'}: {args.target:.0%} within {args.time_limit:g} s)"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
