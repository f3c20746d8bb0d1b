"""A cache for the figures drawn at build time, keyed on everything that draws them.

Training the toy Transformer for two figures takes about ten seconds, and every
build (CI, each ``mkdocs serve`` start) would pay it although ``runnable/``
rarely changes. A figure's SVG is stored under a key hashed from:

* the source of ``learnpath/site/figures.py`` (the drawing code and its settings),
* the source of every ``runnable/*.py`` (the models, the training and its defaults)
  and every file in ``runnable/data/`` (the corpus the tokenizer and the GPT learn from),
* the figure function's name, and the NumPy and Python versions that ran it.

Change any of them and the key changes, so a stale figure cannot be served: the
figure is drawn again (the honest cold path) and stored. The cache lives
outside ``site/`` (``.cache/figures/`` next to ``mkdocs.yml``, ignored by git;
``LEARNPATH_FIGURE_CACHE`` names another directory, or ``off`` disables it).
A cache that cannot be read or written only costs time: the figure is drawn.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path

ENV = "LEARNPATH_FIGURE_CACHE"
DEFAULT_DIR = Path(".cache") / "figures"
FIGURES_SOURCE = Path(__file__).with_name("figures.py")


def cache_dir(project_root: Path) -> Path | None:
    """Where figures are cached for this project; None when caching is off."""
    setting = os.environ.get(ENV, "").strip()
    if setting.lower() == "off":
        return None
    return Path(setting) if setting else project_root / DEFAULT_DIR


def figure_key(function: str) -> str:
    """The hash of the code and settings that draw ``function``'s figure (``runnable`` must be importable)."""
    import numpy

    import runnable  # the package the figures will import, wherever it is on sys.path

    digest = hashlib.sha256()
    sources = [("figures.py", FIGURES_SOURCE)]
    package = Path(runnable.__file__).parent
    sources += [(f"runnable/{p.name}", p) for p in sorted(package.glob("*.py"))]
    sources += [(f"runnable/data/{p.name}", p) for p in sorted((package / "data").glob("*")) if p.is_file()]
    for name, path in sources:
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    digest.update(f"{function}\0numpy {numpy.__version__}\0python {platform.python_version()}".encode())
    return digest.hexdigest()


def _looks_like_svg(text: str) -> bool:
    return text.startswith("<svg") and text.rstrip().endswith("</svg>")


def cached_figure(function: str, draw: Callable[[], str], project_root: Path) -> tuple[str, bool]:
    """(the figure's SVG, whether it came from the cache); draws and stores it on a miss."""
    directory = cache_dir(project_root)
    if directory is None:
        return draw(), False
    key = figure_key(function)
    file = directory / f"{function}-{key[:32]}.svg"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    if text is not None and _looks_like_svg(text):
        return text, True
    svg = draw()
    _store(directory, file, svg, function)
    return svg, False


def _store(directory: Path, file: Path, svg: str, function: str) -> None:
    """Write atomically (a half-written figure is never read), and drop the stale ones."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, suffix=".tmp", delete=False) as out:
            out.write(svg)
        os.replace(out.name, file)
        for old in directory.glob(f"{function}-*.svg"):
            if old != file:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full disk: the figure was drawn, it is just not kept
