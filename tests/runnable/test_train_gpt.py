"""The GPT training command and the LoRA demo, on a small synthetic text with our BPE.

Nothing here times anything: the 60-second budget of ``python -m runnable.train_gpt``
is measured by the command itself.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import tolerance

from runnable.adam import leaves
from runnable.backward import cross_entropy
from runnable.gpt import gpt

# Two "styles": sentences from two small, disjoint vocabularies, drawn with a fixed seed.
STYLE_A = (["the", "a"], ["cat", "dog", "bird"], ["sat on", "ran to", "looked at"], ["the mat", "a tree", "the door"])
STYLE_B = (["my", "your"], ["ship", "king", "horse"], ["sailed by", "rode past", "waited for"], ["the sea", "my lord"])


def sentences(style, n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(
        " ".join(str(rng.choice(part)) for part in style).capitalize() + "." for _ in range(n)
    ) + "\n"


@pytest.fixture
def train_gpt():
    return importlib.import_module("runnable.train_gpt")


def tiny(train_gpt, **overrides):
    sizes = {"seed": tolerance.SEED, "steps": 150, "context": 32, "d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64, "batch_size": 16,
             "warmup": 10, "log_every": 20, "sample_tokens": 20, "vocab_size": 300, "prompt": "The "}
    return train_gpt.GPTSettings(**{**sizes, **overrides})


def unigram_loss(train_ids: np.ndarray, held_out_ids: np.ndarray) -> float:
    """Cross-entropy of the held-out tokens under the training token frequencies (add-one)."""
    counts = np.bincount(train_ids, minlength=max(train_ids.max(), held_out_ids.max()) + 1) + 1.0
    return float(-np.log(counts[held_out_ids] / counts.sum()).mean())


# --- the pieces -------------------------------------------------------------------------


def test_windows_predict_the_next_token(train_gpt, rng):
    ids = np.arange(100)
    tokens, targets = train_gpt.random_windows(rng, ids, 5, 8)
    assert tokens.shape == targets.shape == (5, 8)
    np.testing.assert_array_equal(targets, tokens + 1)  # with ids 0..99 the next token is id + 1
    train, held_out = train_gpt.split(ids, 0.1)
    np.testing.assert_array_equal(np.concatenate([train, held_out]), ids)
    assert len(held_out) == 10


def test_evaluate_is_the_mean_loss_over_the_counted_targets(train_gpt, rng):
    from runnable.gpt import GPTConfig, init_gpt

    cfg = GPTConfig(vocab_size=11, context=6, d_model=8, n_heads=2, n_layers=1, d_ff=8)
    params = init_gpt(cfg, rng)
    ids = rng.integers(0, 11, 20)  # 3 windows of 6, one token left over
    counted = rng.random(20) < 0.5
    chunks = np.stack([ids[i * 6 : i * 6 + 7] for i in range(3)])
    targets = chunks[:, 1:]
    logits = gpt(chunks[:, :-1], params, cfg)
    expected = cross_entropy(logits, np.where(np.stack([counted[i * 6 + 1 : i * 6 + 7] for i in range(3)]), targets, -100))[0]
    assert train_gpt.evaluate(ids, params, cfg) == pytest.approx(float(cross_entropy(logits, targets)[0]), rel=1e-12)
    assert train_gpt.evaluate(ids, params, cfg, counted) == pytest.approx(float(expected), rel=1e-12)


def test_learning_rate_warms_up_then_decays_to_a_tenth(train_gpt):
    s = train_gpt.GPTSettings(steps=100, warmup=10, lr=1.0)
    lrs = [train_gpt.learning_rate(step, s) for step in range(1, 101)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(0.1)


# --- training ---------------------------------------------------------------------------


def test_the_gpt_learns_the_text_beyond_its_token_frequencies(train_gpt):
    text = sentences(STYLE_A, 400, seed=0)
    run = train_gpt.train(text, tiny(train_gpt))
    ids = np.array(run.tokenizer.encode(text))
    train, held_out = train_gpt.split(ids, 0.1)
    baseline = unigram_loss(train, held_out)
    assert run.steps == 150 and len(run.losses) == 150
    assert np.mean(run.losses[-10:]) < np.mean(run.losses[:10])
    # The sentences are a handful of fixed words: a model that reads the context beats the
    # token frequencies (2.9 nats) by far (0.59 nats for seeds 0-4); 1 nat below them is a safe bar.
    assert run.held_out_loss < baseline - 1.0, (run.held_out_loss, baseline)
    assert run.sample.startswith("The ")


def test_same_seed_same_run(train_gpt):
    text = sentences(STYLE_A, 100, seed=1)
    a, b = (train_gpt.train(text, tiny(train_gpt, steps=5)) for _ in range(2))
    assert a.losses == b.losses and a.sample == b.sample


def test_cli_prints_progress_a_sample_and_sets_the_exit_status(train_gpt, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(sentences(STYLE_A, 200, seed=2), encoding="utf-8")
    flags = ["--corpus", str(corpus), "--steps", "20", "--context", "32", "--d-model", "32", "--heads", "2",
             "--layers", "1", "--d-ff", "64", "--batch-size", "8", "--vocab-size", "300", "--log-every", "10"]
    assert train_gpt.main(flags + ["--target", "99"]) == 0
    out = capsys.readouterr().out
    assert "step    10  loss" in out and "tokens/s" in out and "sample (top-p" in out
    assert "held-out loss" in out and "target met" in out
    assert train_gpt.main(flags + ["--target", "0.01"]) == 1
    assert "TARGET MISSED" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--steps", "0"], "--steps must be at least 1"),
        (["--vocab-size", "100"], "at least 256"),
        (["--heads", "3"], "not divisible"),
        (["--position", "rope", "--d-model", "12", "--heads", "4"], "must be even"),
        (["--lr", "-1"], "--lr must be positive"),
        (["--corpus", "/nonexistent/corpus.txt"], "cannot read the corpus"),
    ],
)
def test_cli_rejects_bad_arguments_with_a_message(train_gpt, flags, message, capsys):
    assert train_gpt.main(flags) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# --- the LoRA demo ----------------------------------------------------------------------


def test_adapters_learn_a_second_style_and_leave_the_base_alone(train_gpt):
    from runnable import lora

    first, second = sentences(STYLE_A, 300, seed=3), sentences(STYLE_B, 300, seed=4)
    lcfg = lora.LoRAConfig(rank=2, alpha=2.0, targets=("w_qkv", "w_o", "w1", "w2"))
    settings = tiny(train_gpt)
    base = train_gpt.train(first, settings)  # the run adapt() repeats, to compare its weights after
    result = lora.adapt(first, second, settings, lcfg, steps=80, lr=2e-2)
    for ours, before in zip(leaves(result.base_run.params), leaves(base.params)):
        np.testing.assert_array_equal(ours, before)  # same seed, same base; the adapters never wrote it
    assert result.second_before > result.first_before  # the second style is new to the base model
    assert result.second_after < result.second_before - 0.3
    n_adapters = sum(a.size for a in leaves(result.lora))
    assert result.trainable_fraction == pytest.approx(n_adapters / sum(a.size for a in leaves(base.params)))


def test_lora_demo_cli(train_gpt, tmp_path, capsys):
    from runnable import lora

    corpus = tmp_path / "plays.txt"
    corpus.write_text(sentences(STYLE_A, 150, seed=5) + "SECOND\n" + sentences(STYLE_B, 150, seed=6), encoding="utf-8")
    args = ["--corpus", str(corpus), "--base-steps", "20", "--steps", "20"]
    assert lora.main(args + ["--split-at", "SECOND"]) == 0
    out = capsys.readouterr().out
    assert "held-out loss on the second part" in out and "sample from the adapted model" in out
    assert lora.main(args + ["--split-at", "not in the text"]) == 2
    assert "--split-at" in capsys.readouterr().err
