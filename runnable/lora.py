"""Low-rank adapters (LoRA): fine-tune a trained model by training two thin matrices beside a weight.

Hu, Shen, Wallis, Allen-Zhu, Li, Wang, Wang & Chen, "LoRA: Low-Rank Adaptation
of Large Language Models" (2021), section 4.1. A pretrained weight W_0 stays
frozen; its update is constrained to rank r by writing it as a product of two
small matrices, and only those are trained:

    h = W_0 x + Delta W x = W_0 x + B A x                               (eq. 3)

with B [d_out, r] and A [r, d_in], r much smaller than either. A starts random
Gaussian and B at zero, so Delta W = B A = 0 and the adapted model starts as the
base model; Delta W x is scaled by alpha / r. Here weights multiply from the
right (``x @ W``, W is [d_in, d_out]), so the same update reads

    h = x W_0 + (alpha / r) (x A) B          A [d_in, r], B [r, d_out]

and ``Adapter.a``, ``Adapter.b`` are the paper's A and B transposed.

Training: the gradient reaching the effective weight W = W_0 + s A B (s = alpha / r)
is G = dL/dW, and by the chain rule dL/dA = s G B^T, dL/dB = s A^T G. So
``loss_and_grads`` runs the GPT with the merged weights and projects the
weights' gradients onto A and B: the same numbers as back-propagating through
x A B (checked against PyTorch autograd on an unmerged model), with no gradient
for W_0. At this size forming G costs nothing; at GPT-3 scale the point of LoRA
is to never form it, which is what a real implementation does.

Inference: ``merge`` folds the adapters into the weights, W_0 + s A B, so the
adapted model runs as fast as the base one (section 4.1, "No additional
inference latency"); keeping W_0 aside lets one base model serve several adapters.
Hu et al. adapt the attention projections (section 7.1); ``LoRAConfig.targets``
picks which of a GPT block's four linear layers get one.

    python -m runnable.lora [--seed N] [--steps N] [--rank R]

trains the small GPT on the first play of the shipped corpus (Coriolanus), then
rank-1 adapters on the attention projections, 0.56% of its parameters, on the
second (Richard III): the held-out loss on the second play falls from about 4.6
to about 3.9 nats per token in 200 steps, while the base weights stay as they were.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from runnable.adam import leaves
from runnable.backward import cross_entropy
from runnable.gpt import BlockParams, GPTConfig, GPTParams, gpt_backward, gpt_forward
from runnable.layers import linear

# Where each target lives in a GPT block: (sub-layer, weight), with its bias beside it.
TARGETS = {"w_qkv": ("attn", "w_qkv"), "w_o": ("attn", "w_o"), "w1": ("mlp", "w1"), "w2": ("mlp", "w2")}


@dataclass(frozen=True)
class LoRAConfig:
    """Rank, scale and which weights get adapters (default: the attention projections, as Hu et al.)."""

    rank: int = 4
    alpha: float = 4.0  # Delta W x is scaled by alpha / rank
    targets: tuple[str, ...] = ("w_qkv", "w_o")

    def __post_init__(self) -> None:
        unknown = set(self.targets) - set(TARGETS)
        if unknown or not self.targets:
            raise ValueError(f"targets={self.targets}; choose some of {tuple(TARGETS)}")
        if self.rank < 1:
            raise ValueError(f"rank={self.rank}; it must be at least 1")

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


@dataclass
class Adapter:
    """One low-rank update: Delta W = scale * a @ b, a ``[d_in, r]``, b ``[r, d_out]``."""

    a: np.ndarray  # [d_in, r]
    b: np.ndarray  # [r, d_out]


@dataclass
class BlockAdapters:
    """The adapters of one GPT block; None where a weight has none."""

    w_qkv: Adapter | None = None  # on attn.w_qkv [d, 3d]
    w_o: Adapter | None = None  # on attn.w_o [d, d]
    w1: Adapter | None = None  # on mlp.w1 [d, d_ff]
    w2: Adapter | None = None  # on mlp.w2 [d_ff, d]


@dataclass
class LoRAParams:
    """Every adapter of a model, one ``BlockAdapters`` per block: the only trainable weights."""

    blocks: list[BlockAdapters] = field(default_factory=list)


def _weight(block: BlockParams, target: str) -> np.ndarray:
    sub_layer, name = TARGETS[target]
    return getattr(getattr(block, sub_layer), name)


def init_lora(params: GPTParams, lcfg: LoRAConfig, rng: np.random.Generator) -> LoRAParams:
    """A ~ N(0, 1/d_in) (random Gaussian, section 4.1), B = 0: the adapted model starts equal to the base."""
    blocks = []
    for block in params.blocks:
        adapters = BlockAdapters()
        for target in lcfg.targets:
            w = _weight(block, target)  # [d_in, d_out]
            a = (rng.standard_normal((w.shape[0], lcfg.rank)) / math.sqrt(w.shape[0])).astype(w.dtype)
            setattr(adapters, target, Adapter(a=a, b=np.zeros((lcfg.rank, w.shape[1]), w.dtype)))
        blocks.append(adapters)
    return LoRAParams(blocks)


def lora_linear(x: np.ndarray, w: np.ndarray, b: np.ndarray, adapter: Adapter, scale: float) -> np.ndarray:
    """Eq. 3 as written, unmerged: x W_0 + b + scale (x A) B, ``[..., d_in] -> [..., d_out]``.

    Two thin products instead of a [d_in, d_out] update: (x A) is ``[..., r]``.
    """
    low_rank = linear(x, adapter.a, np.zeros(adapter.a.shape[1], x.dtype))  # [..., d_in] -> [..., r]
    return linear(x, w, b) + scale * (low_rank @ adapter.b)  # [..., r] @ [r, d_out] -> [..., d_out]


def merge(params: GPTParams, lora: LoRAParams, lcfg: LoRAConfig) -> GPTParams:
    """The adapted model as plain weights, W = W_0 + scale * A B; ``params`` is left unchanged."""
    blocks = []
    for block, adapters in zip(params.blocks, lora.blocks, strict=True):
        attn, mlp = replace(block.attn), replace(block.mlp)  # shallow copies: W_0 arrays are not modified
        merged = replace(block, attn=attn, mlp=mlp)
        for target in lcfg.targets:
            adapter = getattr(adapters, target)
            sub_layer, name = TARGETS[target]
            w0 = getattr(getattr(block, sub_layer), name)
            setattr(getattr(merged, sub_layer), name, w0 + lcfg.scale * (adapter.a @ adapter.b))  # [d_in, d_out]
        blocks.append(merged)
    return replace(params, blocks=blocks)


def adapter_grads(weight_grads: GPTParams, lora: LoRAParams, lcfg: LoRAConfig) -> LoRAParams:
    """dL/dA = s G B^T and dL/dB = s A^T G from G = dL/dW of each adapted weight (the chain rule)."""
    blocks = []
    for grads, adapters in zip(weight_grads.blocks, lora.blocks, strict=True):
        out = BlockAdapters()
        for target in lcfg.targets:
            g, adapter = _weight(grads, target), getattr(adapters, target)  # G [d_in, d_out]
            setattr(out, target, Adapter(
                a=lcfg.scale * (g @ adapter.b.T),  # [d_in, d_out] @ [d_out, r] -> [d_in, r]
                b=lcfg.scale * (adapter.a.T @ g),  # [r, d_in] @ [d_in, d_out] -> [r, d_out]
            ))
        blocks.append(out)
    return LoRAParams(blocks)


def loss_and_grads(
    tokens: np.ndarray,
    targets: np.ndarray,
    params: GPTParams,
    lora: LoRAParams,
    cfg: GPTConfig,
    lcfg: LoRAConfig,
    ignore_index: int | None = -100,
) -> tuple[np.floating, LoRAParams]:
    """The adapted model's cross-entropy and the gradients of the adapters only (W_0 is frozen)."""
    logits, cache = gpt_forward(tokens, merge(params, lora, lcfg), cfg)  # [B, T, V]
    loss, d_logits = cross_entropy(logits, targets, ignore_index)
    return loss, adapter_grads(gpt_backward(d_logits, cache), lora, lcfg)


def count_parameters(tree) -> int:
    """The number of numbers in a params tree (a model, or its adapters)."""
    return sum(a.size for a in leaves(tree))


# ---------------------------------------------------------------------------
# The demo: a GPT trained on one play, adapted to another
# ---------------------------------------------------------------------------

# The shipped corpus is Coriolanus followed by Richard III (runnable/data/README.md);
# the second play opens with Gloucester's "Now is the winter of our discontent".
SECOND_PART = "GLOUCESTER:\nNow is the winter of our discontent"


@dataclass
class Adaptation:
    """What the demo measured: held-out losses (nats per token) before and after, and samples."""

    base_run: object  # the train_gpt.GPTRun of the base model
    lora: LoRAParams
    lcfg: LoRAConfig
    trainable_fraction: float  # adapter numbers / base model numbers
    first_before: float  # held-out loss on the first part, base model
    second_before: float  # held-out loss on the second part, base model
    first_after: float  # ... adapted model
    second_after: float
    losses: list[float] = field(default_factory=list)  # training loss of the adapters, per step
    seconds: float = 0.0


def adapt(
    first: str,
    second: str,
    settings,
    lcfg: LoRAConfig = LoRAConfig(rank=1, alpha=1.0),
    steps: int = 200,
    lr: float = 2e-2,
    on_log=None,
) -> Adaptation:
    """Train a GPT on ``first`` (``train_gpt.train``), then LoRA adapters on ``second`` with the base frozen.

    Both texts use the tokenizer learned from ``first``; each holds out its last
    10%. ``settings`` is a ``train_gpt.GPTSettings``.
    """
    from runnable.adam import adam_step, clip_gradients, init_adam
    from runnable.train_gpt import evaluate, random_windows, split, train

    start = time.perf_counter()
    base = train(first, settings, on_log)
    params, cfg, tokenizer = base.params, base.config, base.tokenizer
    _, first_held_out = split(np.array(tokenizer.encode(first), dtype=np.int64), settings.held_out)
    second_train, second_held_out = split(np.array(tokenizer.encode(second), dtype=np.int64), settings.held_out)
    rng = np.random.default_rng(settings.seed)
    lora = init_lora(params, lcfg, rng)
    result = Adaptation(
        base_run=base, lora=lora, lcfg=lcfg,
        trainable_fraction=count_parameters(lora) / count_parameters(params),
        first_before=base.held_out_loss, second_before=evaluate(second_held_out, params, cfg),
        first_after=float("nan"), second_after=float("nan"),
    )
    if on_log:
        on_log(f"base model: held-out loss {result.first_before:.3f} on the first part, "
               f"{result.second_before:.3f} on the second; adapters: {count_parameters(lora):,} numbers, "
               f"{result.trainable_fraction:.2%} of the model's {count_parameters(params):,}")
    state = init_adam(lora)
    for step in range(1, steps + 1):
        tokens, targets = random_windows(rng, second_train, settings.batch_size, cfg.context)
        loss, grads = loss_and_grads(tokens, targets, params, lora, cfg, lcfg)
        clip_gradients(grads, settings.max_norm)
        adam_step(lora, grads, state, lr, beta2=0.99, eps=1e-8)
        result.losses.append(float(loss))
        if on_log and (step % settings.log_every == 0 or step == steps):
            on_log(f"adapter step {step:4d}  loss {np.mean(result.losses[-settings.log_every:]):.3f}")
    adapted = merge(params, lora, lcfg)
    result.first_after = evaluate(first_held_out, adapted, cfg)
    result.second_after = evaluate(second_held_out, adapted, cfg)
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    """Train on the first play, adapt to the second; exit 1 unless the adapters lower its held-out loss."""
    import argparse
    import sys

    from runnable.blas import set_blas_threads
    from runnable.generate import generate
    from runnable.train_gpt import CORPUS, GPTSettings

    parser = argparse.ArgumentParser(
        prog="python -m runnable.lora",
        description="Train the small GPT on the corpus's first play, then LoRA adapters on the second.",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-steps", type=int, default=GPTSettings().steps, help="training steps of the base model")
    parser.add_argument("--steps", type=int, default=200, help="training steps of the adapters (default %(default)s)")
    parser.add_argument("--rank", type=int, default=1, help="adapter rank r (default %(default)s)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--split-at", default=SECOND_PART, help="where the second part starts (default: Richard III)")
    args = parser.parse_args(argv)
    try:
        text = args.corpus.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read the corpus {args.corpus}: {exc}", file=sys.stderr)
        return 2
    cut = text.find(args.split_at)
    if cut <= 0 or min(args.base_steps, args.steps, args.rank) < 1:
        print(f"error: need --split-at text found inside the corpus (not at its start), and --base-steps, --steps and "
              f"--rank of at least 1; got {args.split_at!r}, {args.base_steps}, {args.steps}, {args.rank}",
              file=sys.stderr)
        return 2
    set_blas_threads(1)
    settings = GPTSettings(seed=args.seed, steps=args.base_steps)
    lcfg = LoRAConfig(rank=args.rank, alpha=float(args.rank))
    result = adapt(text[:cut], text[cut:], settings, lcfg, args.steps, on_log=lambda line: print(line, flush=True))
    tokenizer, cfg = result.base_run.tokenizer, result.base_run.config
    prompt = np.array([tokenizer.encode("\n\n")], dtype=np.int64)
    for name, params in (("base", result.base_run.params), ("adapted", merge(result.base_run.params, result.lora, lcfg))):
        out, _ = generate(prompt, params, cfg, cfg.context - prompt.shape[1], rng=np.random.default_rng(args.seed),
                          temperature=0.8, top_p=0.9)
        print(f"sample from the {name} model:\n  " + tokenizer.decode(out[0].tolist()).strip().replace("\n", "\n  "))
    better = result.second_after < result.second_before
    print(f"held-out loss on the second part: {result.second_before:.3f} -> {result.second_after:.3f} nats/token "
          f"with {result.trainable_fraction:.2%} of the parameters trainable "
          f"(first part: {result.first_before:.3f} -> {result.first_after:.3f}; the base weights are unchanged) "
          f"in {result.seconds:.1f} s{'' if better else ' -- ADAPTATION FAILED'}")
    return 0 if better else 1


if __name__ == "__main__":
    raise SystemExit(main())
