"""Tests for ``runnable.bpe``: round trips on any Unicode text, and parity with Hugging Face
``tokenizers`` (a test-only dependency) trained on the same text with the same settings.

The reference is ``tokenizers``' ``BpeTrainer`` + ``ByteLevel`` pre-tokenizer without prefix space,
with the 256-byte initial alphabet, no special tokens and min_frequency 0 (``hf_train``). Training
uses a slice of the shipped corpus so the tests stay fast; the full corpus is in ``bench/bpe.py``.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, pre_tokenizers, trainers

from runnable import bpe

CORPUS = Path(__file__).resolve().parents[2] / "runnable" / "data" / "corpus.txt"
TRAIN_CHARS = 40_000  # the training slice: ~0.1 s for either trainer
VOCAB_SIZE = 400

# Hypothesis examples are not timed: the first call builds the Unicode classes of the regex.
PROPERTY = settings(deadline=None, max_examples=150)

# Any code point with UTF-8 bytes (lone surrogates have none).
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
# Code points assigned in this Python's Unicode database. ``tokenizers``' regex engine carries its
# own, newer, Unicode tables: a code point unassigned here may be a letter there, so parity with it
# is only defined on assigned code points.
ASSIGNED_CHAR = st.characters(blacklist_categories=("Cs", "Cn"))
# Text that stresses the split: contractions, runs of spaces and newlines, digits, the whitespace
# characters where regex engines disagree (U+001C..U+001F, U+0085, U+00A0, U+3000).
TRICKY = st.sampled_from(
    [" ", "  ", "\n", "\r\n", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000",
     "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'", "a", "Z", "7", "42", "½", "Ⅻ", ".", ",", "!?",
     "é", "e\u0301", "🙂", "👩\u200d👩\u200d👧", "🇫🇷", "한", "中文", "\u0301"]
)


def hf_train(text: str, vocab_size: int) -> HFTokenizer:
    """The reference: ``tokenizers`` configured as GPT-2's byte-level BPE, trained on ``text`` as
    one sequence (so the pre-tokenizer sees the same text as ``bpe.train``)."""
    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=0,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([text], trainer=trainer)
    return tok


def hf_merges(tok: HFTokenizer) -> list[tuple[int, int]]:
    """The reference's merges in order, as pairs of ids (its JSON stores them as token strings)."""
    model = json.loads(tok.to_str())["model"]
    vocab = model["vocab"]
    return [tuple(vocab[part] for part in (m if isinstance(m, list) else m.split(" "))) for m in model["merges"]]


@pytest.fixture(scope="module")
def corpus() -> str:
    return CORPUS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def trained(corpus) -> bpe.Tokenizer:
    return bpe.train(corpus[:TRAIN_CHARS], VOCAB_SIZE)


@pytest.fixture(scope="module")
def reference(corpus) -> HFTokenizer:
    return hf_train(corpus[:TRAIN_CHARS], VOCAB_SIZE)


# --- the shipped corpus ---------------------------------------------------------------------


def test_corpus_is_a_few_hundred_kb_of_plain_text():
    data = CORPUS.read_bytes()
    assert 300_000 <= len(data) <= 600_000
    text = data.decode("utf-8")  # strict: fails on any byte that is not UTF-8
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.\n")
    assert text.endswith("For, lords, to-morrow is a busy day.\n")
    # Nothing a copy tool could have added: no carriage returns, tabs or line-number gutters.
    assert "\r" not in text and "\t" not in text
    assert not any(line[:1].isdigit() for line in text.splitlines())


# --- round trips ----------------------------------------------------------------------------


@PROPERTY
@given(st.text(ANY_CHAR, max_size=60))
def test_decode_encode_round_trips_any_text(trained, text):
    assert trained.decode(trained.encode(text)) == text


@PROPERTY
@given(st.lists(TRICKY | ANY_CHAR, max_size=25).map("".join))
def test_decode_encode_round_trips_emoji_marks_and_spaces(trained, text):
    ids = trained.encode(text)
    assert trained.decode(ids) == text
    assert all(0 <= i < trained.vocab_size for i in ids)


def test_round_trip_and_compression_on_held_out_text(trained, corpus):
    held_out = corpus[TRAIN_CHARS : TRAIN_CHARS + 20_000]
    ids = trained.encode(held_out)
    assert trained.decode(ids) == held_out
    # The merges learned on one part of the plays carry over: well under one token per byte.
    assert len(ids) < 0.6 * len(held_out.encode())


@PROPERTY
@given(st.text(ANY_CHAR, max_size=60))
def test_pretokenize_covers_the_text(text):
    words = bpe.pretokenize(text)
    assert "".join(words) == text
    assert all(words)


# --- parity with Hugging Face tokenizers ---------------------------------------------------


def test_merges_match_tokenizers(trained, reference):
    assert len(trained.merges) == VOCAB_SIZE - 256
    assert list(trained.merges) == hf_merges(reference)
    assert trained.vocab_size == reference.get_vocab_size() == VOCAB_SIZE


def test_vocabulary_matches_tokenizers(trained, reference):
    # Each id decodes to the same text in both (tokens are compared through decode, which the
    # reference's byte-level decoder defines independently of our byte numbering).
    from tokenizers import decoders

    reference.decoder = decoders.ByteLevel()
    for i in range(trained.vocab_size):
        assert trained.decode([i]) == reference.decode([i]), i


def test_ids_match_tokenizers_on_held_out_text(trained, reference, corpus):
    held_out = corpus[TRAIN_CHARS : TRAIN_CHARS + 20_000]
    assert trained.encode(held_out) == reference.encode(held_out).ids


@PROPERTY
@given(st.lists(TRICKY | ASSIGNED_CHAR, max_size=25).map("".join))
def test_ids_match_tokenizers_on_any_assigned_text(trained, reference, text):
    assert trained.encode(text) == reference.encode(text).ids


@PROPERTY
@given(st.lists(TRICKY | ASSIGNED_CHAR, max_size=25).map("".join))
def test_split_matches_tokenizers(text):
    splitter = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    expected = [text[start:end] for _, (start, end) in splitter.pre_tokenize_str(text)]
    assert bpe.pretokenize(text) == expected


def test_larger_vocabulary_matches_tokenizers(corpus):
    text = corpus[:100_000]
    ours = bpe.train(text, 700)
    assert list(ours.merges) == hf_merges(hf_train(text, 700))


@pytest.mark.parametrize(
    "text, expected",
    [
        # Three pairs seen once each: the smallest (first id, second id) goes first.
        # Ids: "a" 64, "b" 65, "c" 66, "d" 67, space 220; new tokens 256, 257, ...
        ("ab cd", [(64, 65), (66, 67), (220, 257)]),
        ("cd ab", [(64, 65), (66, 67), (220, 256)]),
        # "!!" and a trailing tab pair are both seen once. By byte value the tabs (9, 9) would come
        # first; by id "!" is 0 and tab is 197 (printable bytes are numbered first), so "!!" wins.
        ("!!\t\t", [(0, 0), (197, 197)]),
        # Frequency beats order: "zz" (ids 89, 89), seen twice, goes before "ab", seen once;
        # then the ties: (64, 65) before (220, 256) before (220, 257).
        ("zz zz ab", [(89, 89), (64, 65), (220, 256), (220, 257)]),
    ],
)
def test_ties_are_broken_like_tokenizers(text, expected):
    assert list(bpe.train(text, 300).merges) == expected
    assert hf_merges(hf_train(text, 300)) == expected


# --- training internals ---------------------------------------------------------------------


def naive_merges(text: str, vocab_size: int) -> list[tuple[int, int]]:
    """The textbook loop (Sennrich et al. 2016, Algorithm 1) with the same tie rule: recount every
    adjacent pair of every word, merge the most frequent (then smallest) pair everywhere."""
    words: dict[tuple[int, ...], int] = {}
    for word in bpe.pretokenize(text):
        key = tuple(bpe.ID_OF_BYTE[b] for b in word.encode())
        words[key] = words.get(key, 0) + 1
    vocab = [bytes([b]) for b in bpe.BYTE_OF_ID]
    merges = []
    while len(vocab) < vocab_size:
        counts: dict[tuple[int, int], int] = {}
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] = counts.get(pair, 0) + n
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        vocab.append(vocab[best[0]] + vocab[best[1]])
        merges.append(best)
        new_words: dict[tuple[int, ...], int] = {}
        for word, n in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i : i + 2] == best:
                    out.append(len(vocab) - 1)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + n
        words = new_words
    return merges


def test_incremental_counts_equal_recounting(corpus):
    text = corpus[:6_000]
    assert list(bpe.train(text, 330).merges) == naive_merges(text, 330)


def test_learn_reports_each_step(corpus):
    steps = list(bpe.learn(corpus[:TRAIN_CHARS], 300))
    assert [s.rank for s in steps] == list(range(44))
    assert [s.token_id for s in steps] == list(range(256, 300))
    tok = bpe.Tokenizer([s.pair for s in steps])
    for s in steps:
        assert s.token == tok.vocab[s.pair[0]] + tok.vocab[s.pair[1]] == tok.vocab[s.token_id]
    # No pair can be more frequent than the pair merged before it: counts never rise.
    counts = [s.count for s in steps]
    assert counts == sorted(counts, reverse=True)
    assert steps[0].pair == (220, 83) and steps[0].token == b" t"  # " t": the most frequent pair


def test_training_stops_when_no_pair_is_left():
    tok = bpe.train("aaaa", 1000)
    assert tok.vocab[256:] == (b"aa", b"aaaa")
    assert tok.encode("aaaa") == [257]


def test_prefix_of_a_longer_training():
    text = "the cat sat on the mat with the hat " * 5
    assert bpe.train(text, 270).merges == bpe.train(text, 280).merges[:14]


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("vocab_size", [255, 0, -1, 256.0, True, "512"])
def test_train_refuses_a_bad_vocab_size(vocab_size):
    with pytest.raises(ValueError, match="vocab_size must be an int >= 256"):
        bpe.train("some text", vocab_size)


def test_train_refuses_bytes():
    with pytest.raises(TypeError, match="as str, got bytes"):
        bpe.train(b"some text", 300)


def test_encode_names_a_lone_surrogate(trained):
    with pytest.raises(ValueError, match=r"lone surrogate U\+D800 at index 3"):
        trained.encode("abc\ud800")
    with pytest.raises(TypeError, match="needs a str"):
        trained.encode(b"abc")


@pytest.mark.parametrize("bad", [[-1], [400], [0, 1, 10**9]])
def test_decode_refuses_ids_outside_the_vocabulary(trained, bad):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        trained.decode(bad)


def test_decode_of_a_cut_character_gives_a_replacement(trained):
    ids = trained.encode("é")  # two bytes, two base tokens (nothing merged them)
    assert trained.decode(ids[:1]) == "\ufffd"


def test_save_and_load_round_trip(trained, tmp_path):
    path = tmp_path / "bpe.json"
    trained.save(path)
    loaded = bpe.Tokenizer.load(path)
    assert loaded == trained
    assert loaded.encode("Now is the winter") == trained.encode("Now is the winter")
    assert not (tmp_path / "bpe.json.tmp").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "cannot read a BPE tokenizer"),
        ('{"merges": []}', "not a runnable.bpe file"),
        ('{"format": "runnable.bpe", "version": 1, "merges": [[1]]}', r"list of \[int, int\] pairs"),
        ('{"format": "runnable.bpe", "version": 1, "merges": [[0, 300]]}', "does not exist yet"),
    ],
)
def test_load_names_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        bpe.Tokenizer.load(path)
    assert str(path) in str(info.value)


def test_unicode_classes_follow_unicodedata():
    # The hand-built classes agree with unicodedata on a few characters of each kind.
    assert bpe.pretokenize("Ⅻ½7x") == ["Ⅻ½7", "x"]  # Nl, No, Nd are all numbers
    assert bpe.pretokenize("a\x1cb") == ["a", "\x1c", "b"]  # U+001C is not whitespace here
    # The ideographic space is whitespace, but only U+0020 is glued to the next word.
    assert bpe.pretokenize("a\u3000\u3000b") == ["a", "\u3000", "\u3000", "b"]
    assert unicodedata.category("\u3000") == "Zs"


def test_decode_accepts_numpy_ids_and_refuses_other_types(trained):
    import numpy as np

    ids = trained.encode("Now is the winter")
    assert trained.decode(np.array(ids)) == "Now is the winter"
    with pytest.raises(TypeError, match="position 1 is 2.5, not an int"):
        trained.decode([1, 2.5])
    with pytest.raises(TypeError, match="position 0 is True"):
        trained.decode([True])


def test_command_prints_the_merges_as_they_are_learned(tmp_path, capsys):
    text = "the cat sat on the mat\n" * 3
    text_file = tmp_path / "tiny.txt"
    text_file.write_text(text, encoding="utf-8")
    assert bpe.main([str(text_file), "--vocab", "260", "--show", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    assert "seen 9 times" in out[0]  # "at" in cat, sat, mat, three lines: the most frequent pair
    n_tokens = len(bpe.train(text, 260).encode(text))
    assert out[-1] == f"4 merges, 260 tokens: 69 bytes -> {n_tokens} tokens"


def test_command_reports_an_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9")
    assert bpe.main([str(bad)]) == 2
    assert f"cannot train on {bad}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        bpe.main(["--vocab", "10"])
    assert info.value.code == 2
