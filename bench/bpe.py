"""Our byte-level BPE (runnable/bpe.py) against Hugging Face ``tokenizers``: training time and
encoding throughput on the shipped corpus, and whether both learned the same thing.

    python bench/bpe.py [--vocab 512 1000] [--repeats 5] [--hf-threads 1]

Prints figures; asserts nothing (speed is measured, never a test). Ours is written to be read,
not to be fast; this says how far it is. Each figure is the median of ``--repeats`` runs, on the
whole corpus (runnable/data/corpus.txt). ``tokenizers`` runs its Rust code on ``--hf-threads``
threads (its Rayon pool, set through RAYON_RS_NUM_CPUS before it is imported); ours is one
Python thread. The machine's load average is printed with the figures: on a shared machine
they move with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "runnable" / "data" / "corpus.txt"


def median_seconds(run, repeats: int) -> float:
    """Median wall time of ``run()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", type=int, nargs="+", default=[512, 1000], help="vocabulary sizes (>= 256)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median reported)")
    parser.add_argument("--hf-threads", type=int, default=1, help="threads for tokenizers (default 1, like ours)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.hf_threads < 1 or min(args.vocab) < 256:
        parser.error("--repeats and --hf-threads must be >= 1 and every --vocab >= 256")

    os.environ["RAYON_RS_NUM_CPUS"] = str(args.hf_threads)  # read when tokenizers starts its pool
    import tokenizers

    from runnable import bpe

    # The reference set-up has one home, the parity tests: the bench times exactly what they check.
    sys.path.insert(0, str(ROOT / "tests" / "runnable"))
    from test_bpe import hf_merges, hf_train

    text = CORPUS.read_text(encoding="utf-8")
    n_bytes = len(text.encode("utf-8"))
    start = time.perf_counter()
    bpe.pretokenize("warm up")  # builds the Unicode classes of the split regex, once per process
    regex_build = time.perf_counter() - start

    print(f"corpus: {CORPUS.relative_to(ROOT)}, {n_bytes:,} bytes")
    print(f"tokenizers {tokenizers.__version__} on {args.hf_threads} thread(s); ours: one Python thread")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"one-off: building our split regex's Unicode classes took {regex_build:.2f} s (not counted below)")
    print(f"median of {args.repeats} runs\n")
    header = f"{'vocab':>6} {'what':<32} {'ours':>9} {'tokenizers':>11} {'ours takes':>11}"
    print(header)
    print("-" * len(header))
    lines = text.splitlines(keepends=True)

    def row(vocab_size: int, what: str, ours_s: float, theirs_s: float, unit: str) -> None:
        """One line: seconds, or MB/s when ``unit`` is "MB/s"; the last column is always our time
        over theirs (2.0x: we take twice as long)."""
        shown = (ours_s, theirs_s) if unit == "s" else (n_bytes / ours_s / 1e6, n_bytes / theirs_s / 1e6)
        print(f"{vocab_size or '-':>6} {what + f' ({unit})':<32} {shown[0]:>9.3f} {shown[1]:>11.3f} {ours_s / theirs_s:>10.1f}x")

    from tokenizers import pre_tokenizers

    splitter = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    # The GPT-2 split alone: both trainers and both encoders pay it on every call.
    row(0, "split into words", median_seconds(lambda: bpe.pretokenize(text), args.repeats),
        median_seconds(lambda: splitter.pre_tokenize_str(text), args.repeats), "MB/s")

    for vocab_size in args.vocab:
        ours = bpe.train(text, vocab_size)
        theirs = hf_train(text, vocab_size)
        row(vocab_size, "train", median_seconds(lambda: bpe.train(text, vocab_size), args.repeats),
            median_seconds(lambda: hf_train(text, vocab_size), args.repeats), "s")

        # Cold: a fresh tokenizer, so our per-word cache starts empty; warm: the cache is full.
        # "whole text" encodes the corpus as one string (as the tests compare ids); "by line" is
        # the usual batch use (tokenizers' encode_batch; ours line after line).
        hf_whole = median_seconds(lambda: theirs.encode(text), args.repeats)
        hf_lines = median_seconds(lambda: theirs.encode_batch(lines), args.repeats)
        warm = bpe.Tokenizer(ours.merges)
        warm.encode(text)
        row(vocab_size, "encode whole text, cold", median_seconds(lambda: bpe.Tokenizer(ours.merges).encode(text), args.repeats), hf_whole, "MB/s")
        row(vocab_size, "encode whole text, warm", median_seconds(lambda: warm.encode(text), args.repeats), hf_whole, "MB/s")
        row(vocab_size, "encode by line, warm", median_seconds(lambda: [warm.encode(line) for line in lines], args.repeats), hf_lines, "MB/s")

        ids = ours.encode(text)
        same_merges = list(ours.merges) == hf_merges(theirs)
        same_ids = ids == theirs.encode(text).ids
        round_trip = ours.decode(ids) == text
        print(
            f"{vocab_size:>6} {'parity':<32} merges {'equal' if same_merges else 'DIFFER'} ({len(ours.merges)}), "
            f"ids {'equal' if same_ids else 'DIFFER'} ({len(ids):,} tokens, {n_bytes / len(ids):.2f} bytes/token), "
            f"round trip {'ok' if round_trip else 'BROKEN'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(run())
