"""Figures for the site, drawn as SVG from the very code in ``runnable/``.

No plotting library: a heatmap is a grid of ``<rect>`` cells plus a colour bar,
a line chart a ``<polyline>`` on two axes. Each public ``*_figure()`` function
returns a complete ``<svg>`` document as a string, computed at build time:

* ``positional_encoding_figure()``: the sinusoidal encoding matrix (section 3.5);
* ``attention_figure()``: where the decoder of the toy model looks while it
  reverses a sequence (its cross-attention weights, an anti-diagonal once trained);
* ``training_curve_figure()``: the toy model's loss, step by step.

The last two share one short, deterministic training run (seed 0, stopped by
the accuracy rule, never by the clock), cached for the life of the process.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

import numpy as np

# Anchor colours, interpolated linearly: a perceptually ordered sequential scale
# (close to matplotlib's viridis) and a blue-white-red diverging one for signed data.
SEQUENTIAL = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
DIVERGING = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")
FONT = 'font-family="system-ui, sans-serif" font-size="12" fill="currentColor"'


def _hex_to_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def colour_for(values: np.ndarray, lo: float, hi: float, anchors: Sequence[str]) -> list[str]:
    """Map each value in [lo, hi] to an ``#rrggbb`` string along the anchor colours."""
    rgb = np.stack([_hex_to_rgb(c) for c in anchors])  # [n_anchors, 3]
    span = hi - lo if hi > lo else 1.0
    t = np.clip((np.asarray(values, dtype=float).ravel() - lo) / span, 0, 1) * (len(anchors) - 1)
    i = np.minimum(t.astype(int), len(anchors) - 2)
    frac = (t - i)[:, None]
    mixed = np.rint(rgb[i] * (1 - frac) + rgb[i + 1] * frac).astype(int)  # [n, 3]
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in mixed]


def _fmt(x: float) -> str:
    """Short tick text: 3 significant digits, no trailing zeros."""
    return f"{x:.3g}"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    label = escape(title, {'"': "&quot;"})
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{label}">',
            f"<title>{escape(title)}</title>",
            *body,
            "</svg>",
        ]
    )


def _title_width(title: str) -> float:
    """A generous width estimate for a bold 12 px title, so it is never clipped."""
    return 7.5 * len(title) + 24


def _text(x: float, y: float, s: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} {extra}>{escape(s)}</text>'


def _tick_positions(n: int, max_ticks: int = 12) -> list[int]:
    """About ``max_ticks`` evenly spaced indices in range(n), always including 0."""
    step = max(1, math.ceil(n / max_ticks))
    return list(range(0, n, step))


def heatmap_svg(
    matrix: np.ndarray,
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_ticks: Sequence[str] | None = None,
    y_ticks: Sequence[str] | None = None,
    diverging: bool = False,
    vmin: float | None = None,
    cell: float = 8.0,
) -> str:
    """A ``[rows, cols]`` matrix as a grid of coloured cells with axes and a colour bar.

    Rows run top to bottom, columns left to right. ``diverging`` centres the
    scale on zero (for signed data such as sines and cosines); otherwise it
    spans ``vmin`` (default: the data's minimum) to the maximum. Tick labels
    default to the indices.
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"heatmap needs a non-empty 2-D matrix, got shape {m.shape}")
    rows, cols = m.shape
    if diverging:
        hi = float(np.max(np.abs(m))) or 1.0
        lo, anchors = -hi, DIVERGING
    else:
        lo, hi, anchors = float(m.min()) if vmin is None else vmin, float(m.max()), SEQUENTIAL
    left, top, bar_w, gap = 60, 36, 14, 16
    grid_w, grid_h = cols * cell, rows * cell
    width = int(max(left + grid_w + gap + bar_w + 60, _title_width(title)))
    height = int(top + grid_h + 50)
    body = [_text(width / 2, 20, title, extra='font-weight="bold"')]
    fills = colour_for(m, lo, hi, anchors)
    tooltips = rows * cols <= 400  # hover values for small grids; large ones would bloat the page
    for (r, c), fill in zip(np.ndindex(rows, cols), fills):
        tip = f"<title>({r}, {c}): {_fmt(m[r, c])}</title></rect>" if tooltips else "/>"
        body.append(
            f'<rect class="cell" x="{left + c * cell:g}" y="{top + r * cell:g}" width="{cell:g}" '
            f'height="{cell:g}" fill="{fill}"{">" + tip if tooltips else tip}'
        )
    x_ticks = [str(i) for i in range(cols)] if x_ticks is None else list(x_ticks)
    y_ticks = [str(i) for i in range(rows)] if y_ticks is None else list(y_ticks)
    for c in _tick_positions(cols):
        body.append(_text(left + (c + 0.5) * cell, top + grid_h + 14, x_ticks[c]))
    for r in _tick_positions(rows):
        body.append(_text(left - 4, top + (r + 0.5) * cell + 4, y_ticks[r], anchor="end"))
    body.append(_text(left + grid_w / 2, top + grid_h + 34, x_label))
    body.append(_text(14, top + grid_h / 2, y_label, extra=f'transform="rotate(-90 14 {top + grid_h / 2:.1f})"'))
    # Colour bar: 32 steps from hi (top) to lo (bottom), labelled at both ends and the middle.
    bar_x, steps = left + grid_w + gap, 32
    levels = np.linspace(hi, lo, steps)
    for i, fill in enumerate(colour_for(levels, lo, hi, anchors)):
        y = top + i * grid_h / steps
        body.append(
            f'<rect class="scale" x="{bar_x:.1f}" y="{y:.1f}" width="{bar_w}" height="{grid_h / steps + 0.5:.2f}" '
            f'fill="{fill}"/>'
        )
    for value, y in ((hi, top + 4), ((hi + lo) / 2, top + grid_h / 2 + 4), (lo, top + grid_h)):
        body.append(_text(bar_x + bar_w + 4, y, _fmt(value), anchor="start"))
    return _svg(width, height, title, body)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def line_chart_svg(
    x: Sequence[float],
    y: Sequence[float],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    width: int = 560,
    height: int = 300,
) -> str:
    """One series as a polyline with labelled, ticked axes; ``log_y`` for quantities like a loss."""
    width = int(max(width, _title_width(title)))
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1 or len(xs) < 2:
        raise ValueError(f"line chart needs two 1-D sequences of equal length >= 2, got {xs.shape} and {ys.shape}")
    if log_y and np.any(ys <= 0):
        raise ValueError("log_y needs positive values")
    ty = np.log10(ys) if log_y else ys
    left, right, top, bottom = 64, 16, 36, 48
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ty.min()), float(ty.max())
    if log_y:
        y0, y1 = math.floor(y0), math.ceil(y1)
    elif y1 == y0:
        y0, y1 = y0 - 1, y1 + 1

    def px(v):
        return left + (v - x0) / ((x1 - x0) or 1) * pw

    def py(v):
        return top + ph - (v - y0) / ((y1 - y0) or 1) * ph

    body = [_text(left + pw / 2, 20, title, extra='font-weight="bold"')]
    axis = 'stroke="currentColor" stroke-width="1"'
    body.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" {axis}/>')
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" {axis}/>')
    for v in _nice_ticks(x0, x1):
        body.append(f'<line x1="{px(v):.1f}" y1="{top + ph}" x2="{px(v):.1f}" y2="{top + ph + 4}" {axis}/>')
        body.append(_text(px(v), top + ph + 16, _fmt(v)))
    y_ticks = range(int(y0), int(y1) + 1) if log_y else _nice_ticks(y0, y1)
    for v in y_ticks:
        grid = 'stroke="currentColor" stroke-opacity="0.15"'
        body.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{left + pw}" y2="{py(v):.1f}" {grid}/>')
        body.append(_text(left - 6, py(v) + 4, _fmt(10.0**v if log_y else v), anchor="end"))
    body.append(_text(left + pw / 2, height - 8, x_label))
    body.append(_text(14, top + ph / 2, y_label, extra=f'transform="rotate(-90 14 {top + ph / 2:.1f})"'))
    points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(xs, ty))
    body.append(f'<polyline class="series" points="{points}" fill="none" stroke="#21918c" stroke-width="1.5"/>')
    return _svg(width, height, title, body)


def hbar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str,
    width: int = 560,
    bar: float = 16.0,
) -> str:
    """One horizontal bar per label, top to bottom, lengths from zero to each value."""
    vals = np.asarray(values, dtype=float)
    if vals.ndim != 1 or len(vals) != len(labels) or len(vals) == 0 or np.any(vals < 0):
        raise ValueError(f"bar chart needs as many non-negative values as labels, got {vals.shape} for {len(labels)}")
    width = int(max(width, _title_width(title)))
    left, right, top = 96, 64, 36
    pw = width - left - right
    height = int(top + len(vals) * bar + 44)
    hi = float(vals.max()) or 1.0
    body = [_text(width / 2, 20, title, extra='font-weight="bold"')]
    for i, (label, v) in enumerate(zip(labels, vals)):
        y = top + i * bar
        w = v / hi * pw
        body.append(f'<rect class="bar" x="{left}" y="{y + 2:.1f}" width="{w:.1f}" height="{bar - 4:.1f}" fill="#21918c"/>')
        body.append(_text(left - 6, y + bar / 2 + 4, label, anchor="end"))
        shown = f"{int(v):,}" if float(v).is_integer() else _fmt(v)  # counts read better in full
        body.append(_text(left + w + 4, y + bar / 2 + 4, shown, anchor="start"))
    axis = 'stroke="currentColor" stroke-width="1"'
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + len(vals) * bar}" {axis}/>')
    body.append(_text(left + pw / 2, height - 12, x_label))
    return _svg(width, height, title, body)


# ---------------------------------------------------------------------------
# The figures the site shows
# ---------------------------------------------------------------------------


def positional_encoding_figure(n_positions: int = 48, d_model: int = 48) -> str:
    """The sinusoidal encoding matrix: positions down, dimensions across (Vaswani et al. 2017, 3.5)."""
    from runnable.positional import sinusoidal_encoding

    return heatmap_svg(
        sinusoidal_encoding(n_positions, d_model),
        title=f"Sinusoidal positional encoding ({n_positions} positions, d_model = {d_model})",
        x_label="dimension (even: sine, odd: cosine; frequency falls to the right)",
        y_label="position",
        diverging=True,
    )


@functools.lru_cache(maxsize=1)
def toy_run():
    """One short, deterministic training run of the reversal demo (seed 0, a few seconds).

    BLAS is pinned to one thread first, as ``python -m runnable.train_toy`` does:
    the toy's matrices are too small to share, and two OpenBLAS threads on a
    busy two-core machine can make this run ten times slower.
    """
    from runnable.blas import set_blas_threads
    from runnable.train_toy import ToySettings, train

    set_blas_threads(1)
    return train(ToySettings(seed=0, test_size=200))


def cross_attention(src: np.ndarray, params, cfg) -> np.ndarray:
    """Cross-attention weights ``[B, h, T_t, T_s]`` of the first decoder layer while greedily decoding ``src``."""
    from runnable.transformer import greedy_decode

    _, attention = greedy_decode(src, params, cfg, bos=cfg.tgt_vocab - 1, max_len=src.shape[1])
    return attention[0].cross_attn


def attention_figure() -> str:
    """Where each output position looks in the input, averaged over heads, for one held-out sequence."""
    run = toy_run()
    src = np.random.default_rng(2017).integers(0, run.config.src_vocab, (1, 10))
    weights = cross_attention(src, run.params, run.config)[0].mean(axis=0)  # [h, T_t, T_s] -> [T_t, T_s]
    tokens = [str(t) for t in src[0]]
    return heatmap_svg(
        weights,
        title="Decoder cross-attention while reversing a sequence (mean over heads)",
        x_label="input position (token)",
        y_label="output position",
        x_ticks=[f"{i}:{t}" for i, t in enumerate(tokens)],
        y_ticks=[str(i) for i in range(len(tokens))],
        vmin=0.0,
        cell=28.0,
    )


def training_curve_figure() -> str:
    """Training loss of the reversal demo, per step, on a log scale."""
    run = toy_run()
    steps = np.arange(1, len(run.losses) + 1)
    return line_chart_svg(
        steps,
        run.losses,
        title=f"Training the toy Transformer to reverse sequences ({run.steps} steps)",
        x_label="step (batch of fresh sequences)",
        y_label="cross-entropy loss",
        log_y=True,
    )


# --- Byte-pair encoding (runnable/bpe.py) ------------------------------------


def bpe_merges_figure(vocab_size: int = 512, shown: int = 20) -> str:
    """The first merges byte-level BPE learns on the shipped corpus, with the count that won each."""
    from runnable import bpe
    from runnable.train_gpt import CORPUS

    steps = list(bpe.learn(CORPUS.read_text(encoding="utf-8"), vocab_size))[:shown]
    return hbar_chart_svg(
        [f"{step.rank + 1}. {bpe.show(step.token)}" for step in steps],
        [step.count for step in steps],
        title=f"The first {shown} merges byte-level BPE learns on the corpus",
        x_label="occurrences of the pair when it was merged (␣ is a space, ⏎ a line break)",
    )


# --- The small GPT (runnable/gpt.py, runnable/train_gpt.py) -------------------


@functools.lru_cache(maxsize=1)
def gpt_run():
    """``python -m runnable.train_gpt --seed 0``: the default run, about 20 s of CPU, BLAS on one thread."""
    from runnable.blas import set_blas_threads
    from runnable.train_gpt import CORPUS, GPTSettings, train

    set_blas_threads(1)
    return train(CORPUS.read_text(encoding="utf-8"), GPTSettings(seed=0))


def gpt_training_figure() -> str:
    """The small GPT's training loss, per step, with its held-out loss in the title."""
    run = gpt_run()
    return line_chart_svg(
        np.arange(1, len(run.losses) + 1),
        run.losses,
        title=f"Training the small GPT on Shakespeare (held-out loss {run.held_out_loss:.2f} nats per token)",
        x_label="step (32 windows of 64 tokens each)",
        y_label="cross-entropy loss (nats)",
    )


def sampling_figure(shown: int = 12) -> str:
    """How temperature, top-k and top-p reshape the small GPT's next-token distribution after a prompt."""
    from runnable import bpe
    from runnable.generate import next_token_distribution
    from runnable.gpt import gpt

    run = gpt_run()
    prompt = np.array([run.tokenizer.encode("First Citizen:\nWe are")], dtype=np.int64)  # [1, T]
    logits = gpt(prompt, run.params, run.config)  # [1, T] -> [1, T, V]
    last = logits[0, -1].astype(np.float64)  # [V]
    order = np.argsort(-last)[:shown]  # the most probable tokens, best first
    settings = [
        ("T = 1", dict(temperature=1.0)),
        ("T = 0.5", dict(temperature=0.5)),
        ("T = 2", dict(temperature=2.0)),
        ("top-k 5", dict(top_k=5)),
        ("top-p 0.5", dict(top_p=0.5)),
        ("greedy", dict(temperature=0.0)),
    ]
    rows = np.stack([next_token_distribution(last, **kwargs)[order] for _, kwargs in settings])  # [6, shown]
    return heatmap_svg(
        rows,
        title="Next-token probabilities after 'We are', under each sampling rule",
        x_label="the model's 12 most likely next tokens, most likely first",
        y_label="rule",
        x_ticks=[bpe.show(run.tokenizer.vocab[i]) for i in order],
        y_ticks=[name for name, _ in settings],
        vmin=0.0,
        cell=40.0,
    )


# --- Rotary position embeddings (runnable/rope.py) ----------------------------


def rope_figure(d_k: int = 64, max_offset: int = 256) -> str:
    """q . k after RoPE for a query and a key with the same content, against their distance.

    With q = k = (1, ..., 1) the score is sum_i 2 cos(r theta_i) for offset r: it
    depends only on r (not on where the pair sits) and falls off as r grows,
    the long-term decay Su et al. (2021, section 3.4.3) describe.
    """
    from runnable.rope import rope_angles, rotate

    offsets = np.arange(max_offset + 1)  # [R]
    start = 100  # any absolute position gives the same curve: only the offset matters
    q = np.ones((1, d_k))  # [1, d_k]
    k = np.ones((1, d_k))  # [1, d_k]
    cos_q, sin_q = rope_angles(start + offsets, d_k)  # [R, d_k/2] each
    cos_k, sin_k = rope_angles(np.array([start]), d_k)  # [1, d_k/2] each
    q_rot = rotate(np.repeat(q, len(offsets), axis=0), cos_q, sin_q)  # [R, d_k]
    k_rot = rotate(k, cos_k, sin_k)  # [1, d_k]
    scores = q_rot @ k_rot[0]  # [R, d_k] @ [d_k] -> [R]
    return line_chart_svg(
        offsets,
        scores,
        title=f"RoPE: score of a query and a key with equal content (d_k = {d_k}), by distance",
        x_label="distance between the two positions (tokens)",
        y_label="q . k after rotation",
    )
