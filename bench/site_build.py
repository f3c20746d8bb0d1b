"""How long `mkdocs build --strict` takes: the real site cold and warm, and synthetic catalogs.

    .venv/bin/python bench/site_build.py            # everything (a few minutes on 2 cores)
    .venv/bin/python bench/site_build.py --quick    # the real site only

Each build is a fresh `mkdocs build --strict` process into a temporary
directory, timed by the wall clock, as a reader of `make build` or CI pays it.

* real, cold: an empty figure cache (the toy Transformer is trained again);
* real, warm: the same cache, unchanged `runnable/` (what a rebuild costs);
* synthetic: catalogs of 100, 1,000 and 5,000 resources over 10 topics and
  3 paths (stages of 5 steps), no figures: how the build grows with the catalog.

Targets (issue 7): warm real build under 3 s; 1,000 resources under 5 s;
growth linear (the cost per resource roughly constant from 1,000 to 5,000).
The machine's load average is printed with the figures: on a shared two-core
machine, read them with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "site"))

from site_helpers import make_project, mkdocs_build  # noqa: E402 - the tests' own helpers: bench and tests agree

SIZES = (100, 1000, 5000)
TOPICS = 10
PATHS = 3
STAGE_SIZE = 5


def build(project: Path, site: Path, env: dict[str, str]) -> float:
    """Seconds for one strict build of ``project`` into ``site``; any failure stops the bench."""
    start = time.perf_counter()
    result = mkdocs_build(project, site, timeout=1800, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"build of {project} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def synthetic_catalog(size: int) -> dict:
    topics = [{"id": f"topic-{t}", "title": f"Topic {t}", "summary": f"What topic {t} is about, in one sentence."}
              for t in range(TOPICS)]
    kinds = ["article", "video", "paper", "course", "tutorial", "notebook", "code", "book", "lecture"]
    resources = [
        {
            "id": f"resource-{i}", "title": f"Resource number {i}", "url": f"https://example.org/r/{i}",
            "kind": kinds[i % len(kinds)], "authors": [f"Author {i % 37}"],
            "topics": [f"topic-{i % TOPICS}"] + ([f"topic-{(i + 1) % TOPICS}"] if i % 3 == 0 else []),
            "level": ["beginner", "intermediate", "advanced"][i % 3], "minutes": 10 + i % 90, "free": True,
            "description": f"Resource {i} explains one idea with worked examples. It is synthetic.",
            "added": "2026-11-22",
        }
        for i in range(size)
    ]
    per_path = size // PATHS
    paths = []
    for p in range(PATHS):
        ids = [f"resource-{i}" for i in range(p * per_path, (p + 1) * per_path)]
        stages = [
            {"id": f"stage-{s}", "title": f"Stage {s}", "goal": f"You can explain the ideas of stage {s}.",
             "steps": [{"resource": r, "optional": (n % 4 == 3)} for n, r in enumerate(ids[s:s + STAGE_SIZE])]}
            for s in range(0, len(ids), STAGE_SIZE)
        ]
        paths.append({"id": f"path-{p}", "title": f"Path {p}", "summary": f"Synthetic path {p} for the bench.",
                      "stages": stages})
    return {"schema_version": 1, "topics": topics, "resources": resources, "paths": paths}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the real site only")
    parser.add_argument("--repeat", type=int, default=3, help="warm builds to time (the median is shown)")
    args = parser.parse_args(argv)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)")

    with tempfile.TemporaryDirectory(prefix="site-bench-") as tmp:
        tmp_path = Path(tmp)
        env_real = {**env, "LEARNPATH_FIGURE_CACHE": str(tmp_path / "figure-cache")}
        cold = build(REPO, tmp_path / "cold", env_real)
        warm = [build(REPO, tmp_path / f"warm-{n}", env_real) for n in range(args.repeat)]
        print(f"real site, cold (figures drawn):    {cold:6.2f} s")
        print(f"real site, warm (figures cached):   {statistics.median(warm):6.2f} s  "
              f"(median of {len(warm)}: {', '.join(f'{w:.2f}' for w in warm)}; target < 3 s)")
        if args.quick:
            return 0
        rows = []
        for size in SIZES:
            project = tmp_path / f"synthetic-{size}"
            project.mkdir()
            make_project(project, synthetic_catalog(size), index="# Home\n\n<!-- learnpath:path-list -->\n")
            build(project, project / "site-first", env)  # warms the OS file cache and Python's bytecode
            seconds = min(build(project, project / f"site-{n}", env) for n in range(2))
            rows.append((size, seconds))
            print(f"synthetic, {size:5d} resources:      {seconds:6.2f} s  ({1000 * seconds / size:6.2f} ms per resource)")
        (small, t_small), (mid, t_mid), (big, t_big) = rows
        print(f"target: 1,000 resources < 5 s: {'met' if t_mid < 5 else 'NOT met'} ({t_mid:.2f} s)")
        # Linear growth: the marginal cost per resource stays the same from 100 to 1,000 and 1,000 to 5,000.
        first = (t_mid - t_small) / (mid - small)
        second = (t_big - t_mid) / (big - mid)
        print(f"growth: {1000 * first:.2f} ms per extra resource (100 -> 1,000), {1000 * second:.2f} ms "
              f"(1,000 -> 5,000): ratio {second / first:.2f} (1.0 = linear)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
