"""Backpropagation through time for the attention seq2seq model: finite differences,
PyTorch autograd, and a short training run that learns the reversal alignment."""

import numpy as np
import pytest

from tolerance import assert_all_close, assert_close

from runnable.adam import clip_gradients, leaves
from runnable.gru import gru_layer, init_gru
from runnable.seq2seq import CellKind
from runnable.seq2seq_attention import Score, attention_seq2seq_logits, init_attention_seq2seq
from runnable.seq2seq_train import (
    ReverseTask,
    alignment_example,
    exact_match,
    gru_layer_backward,
    gru_layer_forward,
    loss_and_grads,
    train,
)

T, B, I, H = 5, 3, 4, 6
GRU_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@pytest.fixture(params=list(Score), ids=[s.value for s in Score])
def score(request):
    return request.param


def _gru_case(rng):
    params = init_gru(I, H, rng)
    x, h0 = rng.normal(size=(T, B, I)), rng.normal(size=(B, H))
    probe_out, probe_last = rng.normal(size=(T, B, H)), rng.normal(size=(B, H))
    return params, x, h0, probe_out, probe_last


def test_forward_with_cache_is_the_gru_layer(rng):
    params, x, h0, _, _ = _gru_case(rng)
    outputs, h_last, _ = gru_layer_forward(x, params, h0)
    expected, expected_last = gru_layer(x, params, h0)
    np.testing.assert_array_equal(outputs, expected)
    np.testing.assert_array_equal(h_last, expected_last)


def test_gru_backward_matches_finite_differences(rng, numerical_grad):
    params, x, h0, probe_out, probe_last = _gru_case(rng)

    def loss():  # touches every output and the final state
        outputs, h_last, _ = gru_layer_forward(x, params, h0)
        return float(np.sum(outputs * probe_out) + np.sum(h_last * probe_last))

    outputs, h_last, cache = gru_layer_forward(x, params, h0)
    magnitude = np.sum(np.abs(outputs * probe_out)) + np.sum(np.abs(h_last * probe_last))  # probe terms cancel
    d_x, d_h0, grads = gru_layer_backward(probe_out, probe_last, cache)
    for name, array, grad in [("x", x, d_x), ("h0", h0, d_h0)] + [
        (name, getattr(params, name), getattr(grads, name)) for name in GRU_WEIGHTS
    ]:
        numerical_grad(loss, array, magnitude=magnitude).assert_matches(grad, name)


def test_gru_backward_matches_torch_autograd(torch, torch_recurrent, rng):
    params, x, h0, probe_out, probe_last = _gru_case(rng)
    module = torch_recurrent("GRU", params)
    x_t, h0_t = torch.from_numpy(x).requires_grad_(), torch.from_numpy(h0[None]).requires_grad_()
    outputs, h_last = module(x_t, h0_t)
    ((outputs * torch.from_numpy(probe_out)).sum() + (h_last[0] * torch.from_numpy(probe_last)).sum()).backward()
    _, _, cache = gru_layer_forward(x, params, h0)
    d_x, d_h0, grads = gru_layer_backward(probe_out, probe_last, cache)
    assert_all_close(
        [("x", d_x, x_t.grad.numpy()), ("h0", d_h0, h0_t.grad[0].numpy())]
        + [(name, getattr(grads, name), getattr(module, name + "_l0").grad.numpy()) for name in GRU_WEIGHTS]
    )


def _model_case(rng, score):
    params = init_attention_seq2seq(7, 6, 3, 4, rng, score, CellKind.GRU, attention_dim=3)
    for array in leaves(params):  # every weight and bias random and of order one
        array[...] = rng.normal(size=array.shape) * 0.5
    src = rng.integers(0, 7, size=(2, 4))
    tgt_in, tgt_out = rng.integers(0, 6, size=(2, 3)), rng.integers(0, 6, size=(2, 3))
    return params, src, tgt_in, tgt_out


def test_whole_model_gradients_match_finite_differences(rng, score, numerical_grad):
    params, src, tgt_in, tgt_out = _model_case(rng, score)
    _, grads = loss_and_grads(src, tgt_in, tgt_out, params)
    arrays, grad_arrays = leaves(params), leaves(grads)
    assert [a.shape for a in arrays] == [g.shape for g in grad_arrays]
    for index, (array, grad) in enumerate(zip(arrays, grad_arrays)):
        estimate = numerical_grad(lambda: loss_and_grads(src, tgt_in, tgt_out, params)[0], array)
        estimate.assert_matches(grad, f"parameter array {index} of shape {array.shape}")


def test_loss_is_the_cross_entropy_of_the_forward_logits(rng, score):
    params, src, tgt_in, tgt_out = _model_case(rng, score)
    logits, _ = attention_seq2seq_logits(src, tgt_in, params)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_probs, tgt_out[..., None], -1).mean()
    assert_close(loss_and_grads(src, tgt_in, tgt_out, params)[0], expected)


def test_whole_model_gradients_match_torch_autograd(torch, torch_attend, rng, score):
    params, src, tgt_in, tgt_out = _model_case(rng, score)
    base, attention = params.base, params.attention
    t = lambda a: torch.from_numpy(a).requires_grad_()  # noqa: E731
    leaf = {
        "src_embed": t(base.src_embed),
        "tgt_embed": t(base.tgt_embed),
        "w_out": t(base.w_out),
        "b_out": t(base.b_out),
        "w_combine": t(params.w_combine),
    }
    score_args = {}
    if attention.additive is not None:
        score_args = {name: t(getattr(attention.additive, name)) for name in ("w_query", "w_key", "v")}
    if attention.w_general is not None:
        score_args = {"w_general": t(attention.w_general)}
    encoder, decoder = torch.nn.GRU(3, 4, dtype=torch.float64), torch.nn.GRU(3, 4, dtype=torch.float64)
    with torch.no_grad():
        for module, cell in ((encoder, base.encoder), (decoder, base.decoder)):
            for name in GRU_WEIGHTS:
                getattr(module, name + "_l0").copy_(torch.from_numpy(getattr(cell, name)))
    src_t, tgt_in_t = torch.from_numpy(src.T.copy()), torch.from_numpy(tgt_in.T.copy())  # time-major
    memory, state = encoder(torch.nn.functional.embedding(src_t, leaf["src_embed"]))
    h, _ = decoder(torch.nn.functional.embedding(tgt_in_t, leaf["tgt_embed"]), state)
    h, memory = h.transpose(0, 1), memory.transpose(0, 1)  # -> batch first
    ctx, _ = torch_attend(score, h, memory, None, **score_args)
    logits = torch.tanh(torch.cat([ctx, h], -1) @ leaf["w_combine"]) @ leaf["w_out"] + leaf["b_out"]
    torch.nn.functional.cross_entropy(logits.reshape(-1, 6), torch.from_numpy(tgt_out).reshape(-1)).backward()

    _, grads = loss_and_grads(src, tgt_in, tgt_out, params)
    pairs = [
        (grads.base.src_embed, leaf["src_embed"].grad),
        (grads.base.tgt_embed, leaf["tgt_embed"].grad),
        (grads.base.w_out, leaf["w_out"].grad),
        (grads.base.b_out, leaf["b_out"].grad),
        (grads.w_combine, leaf["w_combine"].grad),
    ]
    for module, cell_grads in ((encoder, grads.base.encoder), (decoder, grads.base.decoder)):
        for name in GRU_WEIGHTS:
            pairs.append((getattr(cell_grads, name), getattr(module, name + "_l0").grad))
    for name, tensor in score_args.items():
        ours = grads.attention.w_general if name == "w_general" else getattr(grads.attention.additive, name)
        pairs.append((ours, tensor.grad))
    assert_all_close([(f"gradient {index}", ours, theirs.numpy()) for index, (ours, theirs) in enumerate(pairs)])


def test_training_rejects_lstm_with_a_clear_error(rng):
    params = init_attention_seq2seq(7, 6, 3, 4, rng, cell=CellKind.LSTM)
    task = ReverseTask(length=3, n_symbols=3)
    with pytest.raises(ValueError, match="CellKind.GRU only"):
        loss_and_grads(*task.batch(rng, 2), params)


def test_short_training_learns_to_reverse_with_an_anti_diagonal_alignment():
    task = ReverseTask(length=6, n_symbols=8)
    params, losses = train(task, seed=0, steps=300, batch_size=32)
    assert np.mean(losses[-20:]) < 0.1 * losses[0]
    test_src, _, _ = task.batch(np.random.default_rng(123), 200)
    accuracy, weights = exact_match(params, task, test_src)
    assert accuracy > 0.9
    # On average, output step i (before EOS) attends most to source position S-1-i: the
    # reversal's alignment, an anti-diagonal (uniform attention would give 1/S = 0.17 each).
    mean_weights = weights[:, : task.length].mean(axis=0)  # [B, S, S] -> [S, S]
    np.testing.assert_array_equal(mean_weights.argmax(-1), np.arange(task.length)[::-1])
    assert mean_weights[:, ::-1].diagonal().mean() > 0.4


def test_alignment_example_is_a_deterministic_reversal():
    src, ids, weights = alignment_example(seed=0, steps=40)
    src_again, ids_again, weights_again = alignment_example(seed=0, steps=40)
    np.testing.assert_array_equal(weights, weights_again)
    np.testing.assert_array_equal(ids, ids_again)
    assert weights.shape == (len(ids), len(src))
    assert_close(weights.sum(-1), np.ones(len(ids)), roundoffs=4 * len(src))  # len(src) weights, a few eps each


def test_command_exits_non_zero_when_it_misses_the_target(capsys):
    from runnable.seq2seq_train import main

    assert main(["--steps", "2", "--target", "0.99"]) == 1  # two steps learn nothing
    out = capsys.readouterr().out
    assert "alignment of the first test sequence" in out
    assert out.strip().splitlines()[-1].startswith("held-out exact match")
    assert main(["--steps", "2", "--target", "0"]) == 0


def test_clip_gradients_bounds_the_global_norm_and_keeps_the_direction(rng):
    grads = [rng.normal(size=(3, 4)), rng.normal(size=5)]
    original = [g.copy() for g in grads]
    norm = clip_gradients(grads, max_norm=0.5)
    assert norm == pytest.approx(np.sqrt(sum(np.sum(g * g) for g in original)))
    assert np.sqrt(sum(np.sum(g * g) for g in grads)) == pytest.approx(0.5)
    for clipped, before in zip(grads, original):
        np.testing.assert_allclose(clipped, before * 0.5 / norm)
    clip_gradients(grads, max_norm=10.0)  # already small: unchanged
    for clipped, before in zip(grads, original):
        np.testing.assert_allclose(clipped, before * 0.5 / norm)
