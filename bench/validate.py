"""How fast is `learnpath validate` on big catalogs, and how much memory does it take?

Generates synthetic catalogs of 1,000 and 10,000 resources (in a temporary
directory, never committed), then measures:

- ``load_catalog`` seconds in this process (median of several runs),
- peak Python memory of one ``load_catalog`` (tracemalloc),
- wall seconds and peak resident memory (ru_maxrss) of ``learnpath validate``
  run as a fresh subprocess, i.e. what a user or CI sees, start-up included.

Target: 10,000 resources validated in under 2 s with every location kept.

    .venv/bin/python bench/validate.py            # 1,000 and 10,000
    .venv/bin/python bench/validate.py 50000      # other sizes
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from learnpath.catalog import load_catalog

TOPICS = ["foundations", "tokenization", "embeddings", "rnn", "lstm", "seq2seq", "attention",
          "self-attention", "positional-encoding", "transformer", "bert", "gpt", "vision-transformer"]
KINDS = ["article", "video", "paper", "course", "lecture", "tutorial", "notebook", "code", "book"]
LEVELS = ["beginner", "intermediate", "advanced"]
STEPS_PER_STAGE = 6  # the most a stage may have without a warning (catalog/xref.py)
# One path through everything: a prerequisite (resource n needs n // 2) is then always an earlier
# step, as the validator asks (it warns when a path leaves one out).
STAGES_PER_PATH = 10**9


def synthetic_catalog(resources: int) -> str:
    """A valid catalog of ``resources`` resources, every one on a path.

    Shaped like the real one: several topics per resource, some alternate URLs,
    prerequisites pointing back to earlier resources (no cycles), long paths.
    """
    out = ["# yaml-language-server: $schema=schema/resources.schema.json", "schema_version: 1", "topics:"]
    for topic in TOPICS:
        out += [f"  - id: {topic}", f"    title: The {topic} topic",
                f"    summary: What {topic} is, explained in a single honest sentence."]
    out.append("resources:")
    for n in range(resources):
        out += [
            f"  - id: resource-{n}",
            f'    title: "Resource number {n}: a synthetic title"',
            f"    url: https://example.org/articles/{n}/index.html?page={n % 7}",
            f"    kind: {KINDS[n % len(KINDS)]}",
            f"    authors: [Author {n % 97}, Second Author]",
            f"    topics: [{TOPICS[n % len(TOPICS)]}, {TOPICS[(n + 1 + n % 5) % len(TOPICS)]}]",
            f"    level: {LEVELS[n % 3]}",
            f"    minutes: {15 + n % 120}",
            f"    free: {'true' if n % 5 else 'false'}",
            "    description: A synthetic resource for the benchmark. It reads like a real description would.",
            f"    year: {2000 + n % 25}",
        ]
        if n >= 2:
            out.append(f"    prerequisites: [resource-{n // 2}, {TOPICS[n % len(TOPICS)]}]"
                       if n // 2 != n else f"    prerequisites: [{TOPICS[0]}]")
        if n % 4 == 0:
            out += ["    alternate_urls:", f"      - https://mirror.example.net/{n}.pdf"]
        out.append("    added: 2026-11-22")
    out.append("paths:")
    per_path = STEPS_PER_STAGE * STAGES_PER_PATH
    for p in range((resources + per_path - 1) // per_path):
        out += [f"  - id: path-{p}", f"    title: Path {p}", "    summary: A synthetic path through a slice of the catalog.",
                "    stages:"]
        for s in range(STAGES_PER_PATH):
            first = p * per_path + s * STEPS_PER_STAGE
            if first >= resources:
                break
            out += [f"      - id: stage-{s}", f"        title: Stage {s}",
                    "        goal: Finish the stage and explain what it taught.", "        steps:"]
            for n in range(first, min(first + STEPS_PER_STAGE, resources)):
                out.append(f"          - resource: resource-{n}")
                if n % 3 == 0:
                    out.append("            why: It is here because the benchmark needs some notes.")
                if n % 6 == 0:
                    out.append("            optional: true")
    return "\n".join(out) + "\n"


def time_load(path: Path, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``load_catalog`` over ``runs`` runs.

    CPU time is the steadier figure on a shared machine; wall time is what a
    user waits.
    """
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        loaded = load_catalog(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert not loaded.warnings, loaded.warnings[:3]
        del loaded  # freeing the last catalog must not be timed as part of the next load
        gc.collect()
    return statistics.median(walls), statistics.median(cpus)


def traced_peak(path: Path) -> float:
    """Peak MiB allocated by Python during one ``load_catalog`` (slower: tracing)."""
    tracemalloc.start()
    try:
        load_catalog(path)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def cli_run(path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of `learnpath validate` in a fresh process."""
    code = ("import resource, sys, time; t = time.perf_counter(); from learnpath.cli import run; "
            "rc = run(['validate', '--quiet', sys.argv[1]]); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"learnpath validate failed on {path}:\n{done.stdout}{done.stderr}")
    seconds, max_rss_kib = done.stdout.split()[-2:]
    return float(seconds), int(max_rss_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000], help="numbers of resources")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size (the median is shown)")
    args = parser.parse_args()
    import yaml
    loader = "libyaml (CSafeLoader)" if hasattr(yaml, "CSafeLoader") else "pure Python (SafeLoader)"
    print(f"learnpath validate benchmark: Python {sys.version.split()[0]}, YAML parser {loader}, "
          f"{os.cpu_count()} CPUs")
    header = ("resources", "file MiB", "load_catalog s", "CPU s", "tracemalloc peak MiB", "CLI wall s",
              "CLI max RSS MiB")
    rows = []
    with tempfile.TemporaryDirectory(prefix="learnpath-bench-") as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"catalog-{size}.yaml"
            path.write_text(synthetic_catalog(size), encoding="utf-8")
            seconds, cpu = time_load(path, args.runs)
            peak = traced_peak(path)
            cli_seconds, rss = cli_run(path)
            rows.append((f"{size:,}", f"{path.stat().st_size / 2**20:.1f}", f"{seconds:.3f}", f"{cpu:.3f}", f"{peak:.0f}",
                         f"{cli_seconds:.3f}", f"{rss:.0f}"))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    print(f"load_catalog: median of {args.runs} runs. Target: 10,000 resources in under 2 s. "
          "CLI wall time includes starting Python and importing pydantic and the CLI.")


if __name__ == "__main__":
    main()
