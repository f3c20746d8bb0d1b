"""Generating with the GPT: the KV cache against full recomputation, and NumPy against PyTorch.

    python bench/generate.py [--quick] [--tokens N] [--threads 1,2]

Prints figures; asserts nothing (speed is measured, never a test).

1. **Cache or not** (NumPy, ``runnable.generate.generate``): greedy decoding of
   ``--tokens`` (256) new tokens after a 16-token prompt, with the KV cache and
   with the whole sequence recomputed at every step; total times at 64, 128 and
   256 tokens and the time of single steps at several lengths, to show how each
   grows: a cached step reads the earlier keys and values (its work grows
   linearly with the length, from a large constant: the projections of one
   token), a recomputed step redoes every position (its work grows at least
   linearly, and its attention quadratically).
2. **NumPy or PyTorch** (the same weights, the same greedy tokens): the same
   cached decoding written with ``torch.nn`` layers and
   ``F.scaled_dot_product_attention`` over preallocated key/value buffers, at
   the same thread count (OpenBLAS and ``torch.set_num_threads``). Target:
   NumPy within 1.2x of PyTorch at one thread.

Each thread count runs in its own subprocess, since OpenBLAS reads
OPENBLAS_NUM_THREADS once at start-up; within it, NumPy's runs and PyTorch's
runs are timed in separate blocks, and each figure is the fastest of several runs
(the one other processes disturbed least).
The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _shared import load_note, thread_env  # noqa: E402

from runnable.generate import generate  # noqa: E402
from runnable.gpt import GPTConfig, gpt, init_gpt, init_kv_cache  # noqa: E402

PROMPT = 16
CONFIG = dict(vocab_size=512, context=PROMPT + 256, d_model=128, n_heads=4, n_layers=4, d_ff=512)
TARGET = 1.2  # NumPy / PyTorch at one thread


def model(tokens: int):
    cfg = GPTConfig(**{**CONFIG, "context": PROMPT + tokens})
    params = init_gpt(cfg, np.random.default_rng(0), np.float32)
    prompt = np.random.default_rng(1).integers(0, cfg.vocab_size, (1, PROMPT))
    return cfg, params, prompt


def best_time(fn, repeats: int) -> float:
    """The fastest of ``repeats`` runs after a warm-up: on a shared machine, the least disturbed one."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def step_times(cfg, params, prompt, lengths, repeats: int) -> dict:
    """Seconds for one decoding step at each length: cached (one token in) and recomputed (all tokens in)."""
    rng = np.random.default_rng(2)
    out = {}
    for length in lengths:
        tokens = rng.integers(0, cfg.vocab_size, (1, length + 1))
        cache = init_kv_cache(cfg, 1, length + 1, np.float32)
        gpt(tokens[:, :length], params, cfg, cache)  # fill the cache with `length` positions

        def cached_step():
            cache.layers = [type(layer)(layer.keys, layer.values, length) for layer in cache.layers]  # rewind
            gpt(tokens[:, length:], params, cfg, cache)

        out[length] = {
            "cached": best_time(cached_step, repeats),
            "recomputed": best_time(lambda: gpt(tokens, params, cfg), repeats),
        }
    return out


def lengths(tokens: int) -> list[int]:
    return [n for n in (64, 128) if n < tokens] + [tokens]


def numpy_recomputation(tokens: int, repeats: int) -> dict:
    """Part 1: cached and recomputed totals, and single steps at several lengths."""
    cfg, params, prompt = model(tokens)
    totals = {
        n: {
            "cached": best_time(lambda n=n: generate(prompt, params, cfg, n, temperature=0), repeats),
            "recomputed": best_time(
                lambda n=n: generate(prompt, params, cfg, n, temperature=0, use_cache=False), max(1, repeats // 3)
            ),
        }
        for n in lengths(tokens)
    }
    longest = PROMPT + tokens - 1
    steps = step_times(cfg, params, prompt, [n for n in (16, 64, 128) if n < longest] + [longest], repeats * 5)
    return {"totals": totals, "steps": steps}


def numpy_block(tokens: int, repeats: int) -> dict:
    """Part 2, NumPy's side: cached totals, and the greedy tokens to compare."""
    cfg, params, prompt = model(tokens)
    totals = {n: best_time(lambda n=n: generate(prompt, params, cfg, n, temperature=0), repeats) for n in lengths(tokens)}
    ids, _ = generate(prompt, params, cfg, tokens, temperature=0)
    return {"totals": totals, "tokens": ids[0].tolist()}


def torch_block(tokens: int, repeats: int, threads: int) -> dict:
    """The same model in PyTorch, decoding greedily with its own key/value buffers."""
    import torch

    torch.set_num_threads(threads)
    nn, F = torch.nn, torch.nn.functional
    cfg, params, prompt = model(tokens)
    d, h = cfg.d_model, cfg.n_heads

    class Block(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, cfg.d_ff), nn.GELU(approximate="tanh"), nn.Linear(cfg.d_ff, d))
            with torch.no_grad():
                for layer, w, b in ((self.qkv, p.attn.w_qkv, p.attn.b_qkv), (self.out, p.attn.w_o, p.attn.b_o),
                                    (self.mlp[0], p.mlp.w1, p.mlp.b1), (self.mlp[2], p.mlp.w2, p.mlp.b2)):
                    layer.weight.copy_(torch.from_numpy(w.T.copy()))
                    layer.bias.copy_(torch.from_numpy(b))
                for ln, q in ((self.ln_1, p.norm1), (self.ln_2, p.norm2)):
                    ln.weight.copy_(torch.from_numpy(q.gain))
                    ln.bias.copy_(torch.from_numpy(q.bias))

        def forward(self, x, keys, values, start):
            b, t, _ = x.shape
            q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in self.qkv(self.ln_1(x)).split(d, dim=-1))
            keys[:, :, start : start + t], values[:, :, start : start + t] = k, v
            mask = torch.ones(t, start + t, dtype=torch.bool).tril(start)
            y = F.scaled_dot_product_attention(q, keys[:, :, : start + t], values[:, :, : start + t], attn_mask=mask)
            x = x + self.out(y.transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.ln_2(x))

    wte = torch.from_numpy(params.token_embed)
    wpe = torch.from_numpy(params.position_embed)
    blocks = [Block(p).eval() for p in params.blocks]
    ln_f = nn.LayerNorm(d)
    with torch.no_grad():
        ln_f.weight.copy_(torch.from_numpy(params.final_norm.gain))
        ln_f.bias.copy_(torch.from_numpy(params.final_norm.bias))

    def decode(n):
        shape = (1, h, PROMPT + n, d // h)
        caches = [(torch.zeros(shape), torch.zeros(shape)) for _ in blocks]
        ids = torch.from_numpy(prompt)
        new, start = ids, 0
        for _ in range(n):
            x = wte[new] + wpe[start : start + new.shape[1]]
            for block, (keys, values) in zip(blocks, caches):
                x = block(x, keys, values, start)
            start += new.shape[1]
            logits = ln_f(x[:, -1]) @ wte.T
            new = logits.argmax(-1, keepdim=True)
            ids = torch.cat([ids, new], dim=1)
        return ids

    with torch.inference_mode():
        totals = {n: best_time(lambda n=n: decode(n), repeats) for n in lengths(tokens)}
        ids = decode(tokens)
    return {"totals": totals, "tokens": ids[0].tolist()}


def worker(threads: int, tokens: int, repeats: int, rounds: int) -> None:
    """Runs in a subprocess with OpenBLAS already on ``threads`` threads; prints one JSON line.

    NumPy's block and PyTorch's block alternate ``rounds`` times; each figure is
    the best over the rounds, so a burst of load during one block does not decide it.
    """
    numpy_rounds, torch_rounds = [], []
    for _ in range(rounds):
        numpy_rounds.append(numpy_block(tokens, repeats))
        torch_rounds.append(torch_block(tokens, repeats, threads))
    result = {
        "threads": threads,
        "numpy": {"totals": {n: min(r["totals"][n] for r in numpy_rounds) for n in lengths(tokens)},
                  "tokens": numpy_rounds[0]["tokens"]},
        "torch": {"totals": {n: min(r["totals"][n] for r in torch_rounds) for n in lengths(tokens)},
                  "tokens": torch_rounds[0]["tokens"]},
    }
    if threads == 1:
        result["recomputation"] = numpy_recomputation(tokens, repeats)
    print(json.dumps(result))


def run_worker(threads: int, args) -> dict:
    env = thread_env(threads)
    cmd = [sys.executable, __file__, "--worker", str(threads), "--tokens", str(args.tokens),
           "--repeats", str(args.repeats), "--rounds", str(args.rounds)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: list[dict], tokens: int) -> None:
    first = next((r["recomputation"] for r in results if "recomputation" in r), None)
    print(f"GPT {CONFIG['n_layers']} layers, d_model {CONFIG['d_model']}, {CONFIG['n_heads']} heads, "
          f"vocabulary {CONFIG['vocab_size']}, float32, batch 1, greedy; {PROMPT}-token prompt; best of runs")
    if first is not None:
        print("\n1. NumPy: KV cache against recomputing the whole sequence at every step (one thread)")
        print(f"   {'new tokens':>10} {'cached s':>9} {'recomputed s':>13} {'ratio':>6}")
        for n, t in first["totals"].items():
            print(f"   {n:>10} {t['cached']:9.3f} {t['recomputed']:13.3f} {t['recomputed'] / t['cached']:6.1f}x")
        print(f"   one step at length L:  {'L':>4} {'cached ms':>10} {'recomputed ms':>14}")
        for length, t in first["steps"].items():
            print(f"   {'':22}{length:>4} {t['cached'] * 1e3:10.2f} {t['recomputed'] * 1e3:14.2f}")
    print(f"\n2. NumPy (cached) against the same model in PyTorch (cached), {tokens} new tokens")
    print(f"   {'threads':>7} {'new tokens':>10} {'numpy s':>8} {'torch s':>8} {'ratio':>6}  target")
    for r in results:
        same = r["numpy"]["tokens"] == r["torch"]["tokens"]
        for n in r["numpy"]["totals"]:
            numpy_s, torch_s = r["numpy"]["totals"][n], r["torch"]["totals"][n]
            target = f"<= {TARGET} {'ok' if numpy_s / torch_s <= TARGET else 'MISSED'}" if r["threads"] == 1 else ""
            print(f"   {r['threads']:>7} {n:>10} {numpy_s:8.3f} {torch_s:8.3f} {numpy_s / torch_s:6.2f}  {target}")
        print(f"   {'':7} greedy tokens identical in NumPy and PyTorch: {same}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=int, default=256, help="new tokens to generate (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure and round (the best counts)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating NumPy/PyTorch blocks per thread count")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="one timed run per figure")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.rounds = 1, 1
    if args.worker:
        worker(args.worker, args.tokens, args.repeats, args.rounds)
        return 0
    if min(args.tokens, args.repeats, args.rounds) < 1:
        parser.error("--tokens, --repeats and --rounds must be at least 1")
    load_before = os.getloadavg()[0]
    results = [run_worker(int(n), args) for n in args.threads.split(",")]
    report(results, args.tokens)
    print("\n" + load_note(load_before, os.getloadavg()[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
