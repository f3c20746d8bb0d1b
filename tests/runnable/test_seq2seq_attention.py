"""Additive and Luong attention for seq2seq: properties, a PyTorch re-implementation with autograd
checked against finite differences of the NumPy forward, and the attention decoder."""

import numpy as np
import pytest

from tolerance import assert_close

from runnable.seq2seq import CellKind
from runnable.seq2seq_attention import (
    AdditiveParams,
    AttentionParams,
    Score,
    attend,
    attention_decoder_step,
    attention_seq2seq_logits,
    attention_weights,
    dot_scores,
    encode_for_attention,
    general_scores,
    greedy_decode_attention,
    init_attention_seq2seq,
    prepare_memory,
)

B, T, S, H, A = 3, 4, 6, 5, 7
SRC_VOCAB, TGT_VOCAB, E = 11, 9, 6
PAD, BOS, EOS = 0, 1, 2
# Row 0 has no padding, row 1 keeps 2 positions, row 2 keeps 5.
SRC_IS_PAD = np.arange(S) >= np.array([[S], [2], [5]])  # [B, S]


@pytest.fixture(params=list(Score), ids=[s.value for s in Score])
def score(request):
    return request.param


def _attention_params(rng, score, dtype=np.float64):
    return AttentionParams(
        score,
        additive=AdditiveParams(
            rng.normal(size=(H, A)).astype(dtype), rng.normal(size=(H, A)).astype(dtype), rng.normal(size=A).astype(dtype)
        ),
        w_general=rng.normal(size=(H, H)).astype(dtype),
    )


def _inputs(rng, dtype=np.float64):
    return rng.normal(size=(B, T, H)).astype(dtype), rng.normal(size=(B, S, H)).astype(dtype)


def test_shapes_dtype_and_weights_sum_to_one(rng, score, dtype):
    p = _attention_params(rng, score, dtype)
    query, encoder_outputs = _inputs(rng, dtype)
    ctx, weights = attend(query, prepare_memory(encoder_outputs, p, SRC_IS_PAD), p)
    assert ctx.shape == (B, T, H) and weights.shape == (B, T, S)
    assert ctx.dtype == weights.dtype == dtype
    assert_close(weights.sum(axis=-1), np.ones(weights.shape[:-1]), dtype, roundoffs=4 * S)  # n weights, each within a few eps: their sum within 4n eps of 1
    assert np.all(weights >= 0)


def test_padding_gets_zero_weight_and_cannot_change_the_context(rng, score):
    p = _attention_params(rng, score)
    query, encoder_outputs = _inputs(rng)
    ctx, weights = attend(query, prepare_memory(encoder_outputs, p, SRC_IS_PAD), p)
    assert np.all(weights[np.broadcast_to(SRC_IS_PAD[:, None, :], weights.shape)] == 0)
    changed = np.where(SRC_IS_PAD[:, :, None], 1e3 * rng.normal(size=encoder_outputs.shape), encoder_outputs)
    ctx_changed, _ = attend(query, prepare_memory(changed, p, SRC_IS_PAD), p)
    np.testing.assert_array_equal(ctx_changed, ctx)


def test_fully_padded_row_gives_zero_context_not_nan(rng, score):
    p = _attention_params(rng, score)
    query, encoder_outputs = _inputs(rng)
    all_pad = np.ones((B, S), dtype=bool)
    ctx, weights = attend(query, prepare_memory(encoder_outputs, p, all_pad), p)
    assert np.all(weights == 0) and np.all(ctx == 0)


def test_general_with_identity_is_dot(rng):
    query, keys = _inputs(rng)
    assert_close(general_scores(query, keys, np.eye(H)), dot_scores(query, keys))


def test_largest_score_gets_largest_weight(rng):
    scores = rng.normal(size=(B, T, S))
    weights = attention_weights(scores)
    np.testing.assert_array_equal(weights.argmax(-1), scores.argmax(-1))
    # the softmax must not overwrite the caller's scores
    np.testing.assert_array_equal(attention_weights(scores), weights)


def test_missing_score_parameters_get_a_clear_error():
    with pytest.raises(ValueError, match="needs additive="):
        AttentionParams(Score.ADDITIVE)
    with pytest.raises(ValueError, match="needs w_general"):
        AttentionParams("general")


def test_bad_padding_masks_dtypes_and_token_ids_get_clear_errors(rng):
    scores = rng.standard_normal((2, 3, 4))
    with pytest.raises(TypeError, match="src_is_pad has dtype float64; .*True means 'may attend'"):
        attention_weights(scores, np.zeros((2, 4)))  # only a boolean src_is_pad is accepted
    params = init_attention_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, Score.DOT)
    src = _tokens(rng, (2, 4), SRC_VOCAB)
    memory, _ = encode_for_attention(src, params)
    with pytest.raises(TypeError, match="memory is float64 but query is float32"):
        attend(rng.standard_normal((2, 3, H)).astype(np.float32), memory, params.attention)
    src[1, 2] = -1  # would silently read the last embedding row
    with pytest.raises(ValueError, match=r"src\[1, 2\] is -1, outside the vocabulary"):
        encode_for_attention(src, params)


# ---------------------------------------------------------------------------
# Against the short PyTorch re-implementation (``torch_attend`` in conftest.py):
# there is no nn module for these scores.
# ---------------------------------------------------------------------------


def _arrays(p, query, encoder_outputs):
    return {
        "query": query,
        "encoder_outputs": encoder_outputs,
        "w_query": p.additive.w_query,
        "w_key": p.additive.w_key,
        "v": p.additive.v,
        "w_general": p.w_general,
    }


def test_forward_matches_pytorch(torch, torch_attend, rng, score, dtype):
    p = _attention_params(rng, score, dtype)
    query, encoder_outputs = _inputs(rng, dtype)
    ctx, weights = attend(query, prepare_memory(encoder_outputs, p, SRC_IS_PAD), p)
    tensors = {k: torch.from_numpy(a) for k, a in _arrays(p, query, encoder_outputs).items()}
    expected_ctx, expected_weights = torch_attend(score, src_is_pad=SRC_IS_PAD, **tensors)
    assert_close(ctx, expected_ctx.numpy(), dtype)
    assert_close(weights, expected_weights.numpy(), dtype)


def test_pytorch_gradients_match_finite_differences_of_numpy(torch, torch_attend, rng, score, numerical_grad):
    """Autograd through the PyTorch version against central differences of our forward, in float64.

    Agreement means both compute the same function (a wrong mask, a transposed
    weight or a missing tanh would change the gradient as well as the value)."""
    p = _attention_params(rng, score)
    query, encoder_outputs = _inputs(rng)
    arrays = _arrays(p, query, encoder_outputs)
    probe = rng.normal(size=(B, T, H))  # loss = <context, probe>, touches every output

    def numpy_loss():
        ctx, _ = attend(query, prepare_memory(encoder_outputs, p, SRC_IS_PAD), p)
        return float(np.sum(ctx * probe))

    tensors = {k: torch.from_numpy(a.copy()).requires_grad_() for k, a in arrays.items()}
    ctx, _ = torch_attend(score, src_is_pad=SRC_IS_PAD, **tensors)
    (ctx * torch.from_numpy(probe)).sum().backward()

    used = {Score.ADDITIVE: ("w_query", "w_key", "v"), Score.GENERAL: ("w_general",), Score.DOT: ()}[score]
    magnitude = float(np.sum(np.abs(ctx.detach().numpy() * probe)))  # the probe loss's terms cancel
    for name in ("query", "encoder_outputs", *used):
        numerical_grad(numpy_loss, arrays[name], magnitude=magnitude).assert_matches(tensors[name].grad.numpy(), name)
    # padded encoder outputs get no gradient at all
    padded_grad = tensors["encoder_outputs"].grad.numpy()[SRC_IS_PAD]
    assert np.all(padded_grad == 0)


# ---------------------------------------------------------------------------
# The attention decoder
# ---------------------------------------------------------------------------


def _model(rng, score, cell=CellKind.GRU, dtype=np.float64):
    return init_attention_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, score, cell, attention_dim=A, dtype=dtype)


def _tokens(rng, shape, vocab):
    return rng.integers(3, vocab, size=shape)


@pytest.mark.parametrize("cell", list(CellKind), ids=[k.value for k in CellKind])
def test_decoder_steps_match_teacher_forcing(rng, score, cell):
    params = _model(rng, score, cell)
    src, tgt_in = _tokens(rng, (B, S), SRC_VOCAB), _tokens(rng, (B, T), TGT_VOCAB)
    expected_logits, expected_weights = attention_seq2seq_logits(src, tgt_in, params, SRC_IS_PAD)
    memory, state = encode_for_attention(src, params, SRC_IS_PAD)
    for t in range(T):
        logits, state, weights = attention_decoder_step(tgt_in[:, t], state, memory, params)
        assert_close(logits, expected_logits[:, t], label=f"logits at step {t}")
        assert_close(weights, expected_weights[:, t], label=f"weights at step {t}")


def test_teacher_forced_logits_keep_dtype(rng, score, dtype):
    params = _model(rng, score, dtype=dtype)
    logits, weights = attention_seq2seq_logits(_tokens(rng, (B, S), SRC_VOCAB), _tokens(rng, (B, T), TGT_VOCAB), params)
    assert logits.shape == (B, T, TGT_VOCAB) and logits.dtype == dtype and weights.dtype == dtype


def test_greedy_decoding_is_deterministic_and_matches_recomputation(rng, score):
    params = _model(rng, score)
    src = _tokens(rng, (B, S), SRC_VOCAB)
    ids, weights = greedy_decode_attention(src, params, bos=BOS, eos=EOS, max_len=8, src_is_pad=SRC_IS_PAD)
    ids_again, weights_again = greedy_decode_attention(src, params, bos=BOS, eos=EOS, max_len=8, src_is_pad=SRC_IS_PAD)
    np.testing.assert_array_equal(ids_again, ids)
    np.testing.assert_array_equal(weights_again, weights)
    assert weights.shape == ids.shape + (S,)
    tgt_in = np.concatenate([np.full((B, 1), BOS), ids[:, :-1]], axis=1)
    logits, tf_weights = attention_seq2seq_logits(src, tgt_in, params, SRC_IS_PAD)
    for b in range(B):
        stop = np.flatnonzero(ids[b] == EOS)
        n = stop[0] + 1 if len(stop) else ids.shape[1]
        np.testing.assert_array_equal(ids[b, :n], logits[b, :n].argmax(-1))
        assert_close(weights[b, :n], tf_weights[b, :n], label=f"weights of sequence {b}")
        assert np.all(weights[b, n:] == 0) and np.all(ids[b, n:] == PAD)
    assert np.all(weights[np.broadcast_to(SRC_IS_PAD[:, None, :], weights.shape)] == 0)


def test_greedy_decoding_stops_at_eos(rng, score):
    params = _model(rng, score)
    params.base.b_out[EOS] = 1e3
    ids, weights = greedy_decode_attention(_tokens(rng, (B, S), SRC_VOCAB), params, bos=BOS, eos=EOS, max_len=8)
    np.testing.assert_array_equal(ids, [[EOS]] * B)
    assert weights.shape == (B, 1, S)


def test_teacher_forced_model_matches_pytorch(torch, torch_attend, rng, score, dtype):
    """nn.Embedding + nn.GRU encoder and decoder + the re-implemented attention + nn.Linear."""
    params = _model(rng, score, dtype=dtype)
    src, tgt_in = _tokens(rng, (B, S), SRC_VOCAB), _tokens(rng, (B, T), TGT_VOCAB)
    logits, _ = attention_seq2seq_logits(src, tgt_in, params, SRC_IS_PAD)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    base = params.base
    encoder = torch.nn.GRU(E, H, batch_first=True, dtype=torch_dtype)
    decoder = torch.nn.GRU(E, H, batch_first=True, dtype=torch_dtype)
    with torch.no_grad():
        for module, cell_params in ((encoder, base.encoder), (decoder, base.decoder)):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(module, name + "_l0").copy_(t(getattr(cell_params, name)))
        lengths = t((~SRC_IS_PAD).sum(1))
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            torch.nn.functional.embedding(t(src), t(base.src_embed)), lengths, batch_first=True, enforce_sorted=False
        )
        packed_out, state = encoder(packed)
        memory, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True, total_length=S)
        h, _ = decoder(torch.nn.functional.embedding(t(tgt_in), t(base.tgt_embed)), state)
        a = params.attention
        additive = a.additive
        ctx, _ = torch_attend(
            score,
            h,
            memory,
            SRC_IS_PAD,
            t(additive.w_query) if additive else None,
            t(additive.w_key) if additive else None,
            t(additive.v) if additive else None,
            t(a.w_general) if a.w_general is not None else None,
        )
        h_tilde = torch.tanh(torch.cat([ctx, h], dim=-1) @ t(params.w_combine))
        expected = (h_tilde @ t(base.w_out) + t(base.b_out)).numpy()
    assert_close(logits, expected, dtype)
