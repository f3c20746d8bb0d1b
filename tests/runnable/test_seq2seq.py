"""Encoder-decoder RNN: teacher forcing, greedy decoding with BOS/EOS, parity with PyTorch modules."""

import numpy as np
import pytest

from tolerance import assert_close

from runnable.seq2seq import (
    CellKind,
    Seq2SeqParams,
    decode_teacher_forced,
    decoder_step,
    encode,
    greedy_decode,
    greedy_loop,
    init_seq2seq,
    seq2seq_logits,
)

B, S, T, E, H = 4, 6, 5, 8, 10
SRC_VOCAB, TGT_VOCAB = 12, 9
PAD, BOS, EOS = 0, 1, 2


@pytest.fixture(params=list(CellKind), ids=[k.value for k in CellKind])
def cell(request):
    return request.param


def _tokens(rng, shape, vocab):
    return rng.integers(3, vocab, size=shape)  # never PAD, BOS or EOS


def test_shapes_and_dtype(rng, cell, dtype):
    params = init_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, cell, dtype)
    src, tgt_in = _tokens(rng, (B, S), SRC_VOCAB), _tokens(rng, (B, T), TGT_VOCAB)
    outputs, state = encode(src, params)
    assert outputs.shape == (B, S, H) and outputs.dtype == dtype
    logits = seq2seq_logits(src, tgt_in, params)
    assert logits.shape == (B, T, TGT_VOCAB) and logits.dtype == dtype


def test_step_by_step_decoder_matches_teacher_forcing(rng, cell):
    params = init_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, cell)
    src, tgt_in = _tokens(rng, (B, S), SRC_VOCAB), _tokens(rng, (B, T), TGT_VOCAB)
    _, state = encode(src, params)
    expected = decode_teacher_forced(tgt_in, state, params)
    for t in range(T):
        logits, state = decoder_step(tgt_in[:, t], state, params)
        assert_close(logits, expected[:, t], label=f"step {t}")


def test_padding_does_not_reach_the_decoder(rng, cell):
    params = init_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, cell)
    src = _tokens(rng, (B, S), SRC_VOCAB)
    src_is_pad = np.arange(S) >= np.array([[S], [2], [4], [1]])  # [B, S], lengths 6, 2, 4, 1
    tgt_in = _tokens(rng, (B, T), TGT_VOCAB)
    logits = seq2seq_logits(src, tgt_in, params, src_is_pad)
    scrambled = np.where(src_is_pad, _tokens(rng, (B, S), SRC_VOCAB), src)  # change only the padding
    np.testing.assert_array_equal(seq2seq_logits(scrambled, tgt_in, params, src_is_pad), logits)
    for b in range(B):  # and each row equals that sequence alone, unpadded
        n = int((~src_is_pad[b]).sum())
        alone = seq2seq_logits(src[b : b + 1, :n], tgt_in[b : b + 1], params)
        assert_close(logits[b : b + 1], alone, label=f"sequence {b}")


def test_bad_padding_gets_a_clear_error(rng):
    params = init_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng)
    src = _tokens(rng, (1, 3), SRC_VOCAB)
    with pytest.raises(ValueError, match="token after padding"):
        encode(src, params, np.array([[False, True, False]]))
    with pytest.raises(ValueError, match="one flag per token"):
        encode(src, params, np.array([[False, True]]))
    with pytest.raises(ValueError, match=r"rows \[0\] of src are all padding"):
        encode(src, params, np.array([[True, True, True]]))
    with pytest.raises(ValueError, match="3 gate blocks but cell='lstm' needs 4"):
        Seq2SeqParams(**{**vars(params), "cell": CellKind.LSTM})


def test_greedy_decoding_is_deterministic_and_matches_recomputation(rng, cell):
    """Feeding the greedy output back through teacher forcing must pick the same tokens."""
    params = init_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, cell)
    src = _tokens(rng, (16, S), SRC_VOCAB)
    out = greedy_decode(src, params, bos=BOS, eos=EOS, max_len=T)
    np.testing.assert_array_equal(greedy_decode(src, params, bos=BOS, eos=EOS, max_len=T), out)
    tgt_in = np.concatenate([np.full((len(src), 1), BOS), out[:, :-1]], axis=1)
    chosen = seq2seq_logits(src, tgt_in, params).argmax(axis=-1)
    for row, choice in zip(out, chosen):
        stop = np.flatnonzero(row == EOS)
        n = stop[0] + 1 if len(stop) else len(row)
        np.testing.assert_array_equal(row[:n], choice[:n])


def test_greedy_loop_stops_each_row_at_its_eos():
    """A scripted step (row b says EOS at step 2b) checks the stopping rule exactly."""
    calls = []

    def step(token, state):
        t = len(calls)
        calls.append(token.copy())
        logits = np.zeros((3, TGT_VOCAB))
        logits[:, 5] = 1.0  # a plain token by default
        logits[np.arange(3) * 2 == t, EOS] = 2.0
        return logits, state

    out = greedy_loop(step, None, 3, bos=BOS, eos=EOS, max_len=10, pad=PAD)
    np.testing.assert_array_equal(
        out,
        [
            [EOS, PAD, PAD, PAD, PAD],
            [5, 5, EOS, PAD, PAD],
            [5, 5, 5, 5, EOS],
        ],
    )
    assert len(calls) == 5  # stopped as soon as every row was done, not at max_len
    np.testing.assert_array_equal(calls[0], BOS)  # decoding starts from BOS
    np.testing.assert_array_equal(calls[1], [EOS, 5, 5])  # and feeds back its own choices
    with pytest.raises(ValueError, match="at least 1"):
        greedy_loop(step, None, 3, bos=BOS, eos=EOS, max_len=0, pad=PAD)


def test_greedy_decoding_stops_at_max_len_or_eos(rng, cell):
    params = init_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, cell)
    src = _tokens(rng, (8, S), SRC_VOCAB)
    params.b_out[EOS] = -1e3  # EOS never wins: every row runs to max_len
    out = greedy_decode(src, params, bos=BOS, eos=EOS, max_len=7)
    assert out.shape == (8, 7) and not np.any(out == EOS)
    params.b_out[EOS] = 1e3  # EOS always wins: one step and stop
    np.testing.assert_array_equal(greedy_decode(src, params, bos=BOS, eos=EOS, max_len=7), [[EOS]] * 8)


def test_matches_pytorch_modules(torch, rng, cell, dtype):
    """The same model built from nn.Embedding, nn.GRU / nn.LSTM and nn.Linear gives the same logits."""
    params = init_seq2seq(SRC_VOCAB, TGT_VOCAB, E, H, rng, cell, dtype)
    src, tgt_in = _tokens(rng, (B, S), SRC_VOCAB), _tokens(rng, (B, T), TGT_VOCAB)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    rnn_type = torch.nn.GRU if cell is CellKind.GRU else torch.nn.LSTM
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    encoder = rnn_type(E, H, batch_first=True, dtype=torch_dtype)
    decoder = rnn_type(E, H, batch_first=True, dtype=torch_dtype)
    out_proj = torch.nn.Linear(H, TGT_VOCAB, dtype=torch_dtype)
    with torch.no_grad():
        for module, cell_params in ((encoder, params.encoder), (decoder, params.decoder)):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(module, name + "_l0").copy_(t(getattr(cell_params, name)))
        out_proj.weight.copy_(t(params.w_out.T))
        out_proj.bias.copy_(t(params.b_out))
        _, state = encoder(torch.nn.functional.embedding(t(src), t(params.src_embed)))
        hidden, _ = decoder(torch.nn.functional.embedding(t(tgt_in), t(params.tgt_embed)), state)
        expected = out_proj(hidden).numpy()
    logits = seq2seq_logits(src, tgt_in, params)
    assert logits.dtype == dtype
    assert_close(logits, expected, dtype)
