"""Byte-level byte-pair encoding (BPE): learn merges from a corpus, encode text to ids, decode back.

BPE for subwords comes from Sennrich, Haddow & Birch, "Neural Machine Translation of Rare
Words with Subword Units" (ACL 2016): start from single symbols and repeatedly merge the
most frequent adjacent pair into a new symbol, until the vocabulary has the size you want.
Merges never cross a word boundary, so the text is first cut into "words".

GPT-2 (Radford et al., "Language Models are Unsupervised Multitask Learners", 2019, §2.2)
runs BPE on *bytes* instead of characters: the 256 byte values are the starting symbols,
so every string has an encoding (no unknown token) and ``decode(encode(s)) == s`` for any
text. GPT-2 also cuts the text into words with a regular expression (``GPT2_SPLIT``) so
that merges never glue a letter to punctuation or a space to a digit run.

This module follows Hugging Face ``tokenizers`` (its ``BpeTrainer`` with the ``ByteLevel``
pre-tokenizer, no prefix space, the 256-byte initial alphabet, no special tokens) exactly:
trained on the same text with the same vocabulary size it learns the same merges in the
same order and gives the same ids (``tests/runnable/test_bpe.py`` checks this). It is
written to be read, not to be fast; ``bench/bpe.py`` measures how far it is.

    tok = train(text, vocab_size=512)
    ids = tok.encode("Now is the winter of our discontent")
    assert tok.decode(ids) == "Now is the winter of our discontent"
    tok.merges[:3]          # the first merges, as pairs of ids
    tok.vocab[ids[0]]       # the bytes of a token
"""

from __future__ import annotations

import functools
import heapq
import json
import numbers
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = [
    "BYTE_OF_ID",
    "GPT2_SPLIT",
    "ID_OF_BYTE",
    "MergeStep",
    "Tokenizer",
    "learn",
    "pretokenize",
    "train",
]

# ---------------------------------------------------------------------------------------
# 1. Cut text into words: the GPT-2 pattern
# ---------------------------------------------------------------------------------------

GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
"""The GPT-2 pre-tokenizer regex (``encoder.py`` in openai/gpt-2; the same string is in
``tokenizers``' ``ByteLevel`` pre-tokenizer). Alternatives are tried left to right:

* ``'s|'t|'re|'ve|'m|'ll|'d``  English contractions become their own words (lower case only);
* `` ?\\p{L}+``   a run of letters, with at most one space glued in front ("Ġworld");
* `` ?\\p{N}+``   a run of numbers (any Unicode number), same optional space;
* `` ?[^\\s\\p{L}\\p{N}]+``  a run of anything else (punctuation, symbols, emoji, marks);
* ``\\s+(?!\\S)``  whitespace, leaving its last space to the next word, so "a  b" is
  "a", " ", " b" and the model sees " b" the same way whatever the spacing before it;
* ``\\s+``         the whitespace left over (at the end of the text).

Python's ``re`` has no ``\\p{...}``; ``_split_regex`` spells the classes out from
``unicodedata``. ``\\s`` is spelled out too: in ``tokenizers``' regex engine (Oniguruma) it
means tab to carriage return, U+0085, and the Unicode separators (Zs, Zl, Zp), while Python's
``\\s`` also matches U+001C-U+001F."""


def _char_class(belongs) -> str:
    """A regex character class body listing every code point for which ``belongs(ch)`` holds,
    as ranges (``\\U0000xxxx-\\U0000yyyy``); built once from ``unicodedata``."""
    ranges, start = [], None
    for cp in range(0x110000 + 1):
        inside = cp <= 0x10FFFF and belongs(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            ranges.append(f"\\U{start:08x}-\\U{cp - 1:08x}")
            start = None
    return "".join(ranges)


@functools.cache
def _split_regex() -> re.Pattern[str]:
    """``GPT2_SPLIT`` compiled with explicit Unicode classes (built on first use: ~0.5 s)."""
    letter = _char_class(lambda c: unicodedata.category(c)[0] == "L")
    number = _char_class(lambda c: unicodedata.category(c)[0] == "N")
    space = _char_class(lambda c: c in "\t\n\v\f\r\x85" or unicodedata.category(c) in ("Zs", "Zl", "Zp"))
    pattern = (
        GPT2_SPLIT.replace(r"[^\s\p{L}\p{N}]", f"[^{space}{letter}{number}]")
        .replace(r"\p{L}", f"[{letter}]")
        .replace(r"\p{N}", f"[{number}]")
        .replace(r"\S", f"[^{space}]")
        .replace(r"\s", f"[{space}]")
    )
    return re.compile(pattern)


def pretokenize(text: str) -> list[str]:
    """Cut ``text`` into the words BPE works inside (``GPT2_SPLIT``). The words concatenate
    back to ``text``: the pattern matches every character, so nothing is dropped."""
    return _split_regex().findall(text)


# ---------------------------------------------------------------------------------------
# 2. The 256 starting symbols: bytes, numbered as GPT-2 numbers them
# ---------------------------------------------------------------------------------------


def _byte_order() -> tuple[int, ...]:
    """The byte behind each of the 256 first ids.

    GPT-2 shows every byte as a printable character (``bytes_to_unicode`` in its
    ``encoder.py``): the 188 printable bytes ``!``..``~``, ``¡``..``¬``, ``®``..``ÿ`` stand for
    themselves and the 68 others (controls, space, U+00AD) are shifted to U+0100 onwards.
    ``tokenizers`` numbers its alphabet in the order of those characters, so the printable
    bytes come first in byte order, then the others in byte order: space (byte 32) is id 220,
    "!" (byte 33) is id 0. We number the same way so that our ids are its ids (and GPT-2's)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return (*printable, *others)


BYTE_OF_ID = _byte_order()  # id (0..255) -> byte
ID_OF_BYTE = tuple(BYTE_OF_ID.index(b) for b in range(256))  # byte -> id (0..255)


def _base_vocab() -> list[bytes]:
    """Ids 0..255: one byte each, in ``BYTE_OF_ID`` order."""
    return [bytes([b]) for b in BYTE_OF_ID]


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8, or a ``ValueError`` that says where a lone surrogate sits (it has no
    UTF-8 form, so no byte-level tokenizer can represent it)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"text has a lone surrogate U+{ord(text[exc.start]):04X} at index {exc.start}, which has no "
            "UTF-8 bytes; byte-level BPE needs valid Unicode (decode bytes with errors='replace' first)"
        ) from None


# ---------------------------------------------------------------------------------------
# 3. Training: merge the most frequent pair, again and again
# ---------------------------------------------------------------------------------------

Pair = tuple[int, int]


@dataclass(frozen=True)
class MergeStep:
    """One merge as it is learned: step ``rank`` (0-based) glued ``pair`` (two ids) into the
    token ``token_id`` (bytes ``token``); the pair occurred ``count`` times at that moment."""

    rank: int
    pair: Pair
    token_id: int
    token: bytes
    count: int


def _merge_in_word(symbols: list[int], pair: Pair, new_id: int) -> list[tuple[Pair, int]]:
    """Replace each occurrence of ``pair`` in ``symbols`` (left to right, in place) by ``new_id``
    and return how the counts of the neighbouring pairs change: the pair with the symbol before
    loses one and the pair (before, new) gains one; the same on the right.

    This is ``Word::merge`` of ``tokenizers`` step for step; in particular the merged pair's own
    count is not decremented (it is never looked at again unless it reappears)."""
    first, second = pair
    changes: list[tuple[Pair, int]] = []
    i = 0
    while i < len(symbols):
        if symbols[i] == first and i + 1 < len(symbols) and symbols[i + 1] == second:
            if i > 0:
                changes.append(((symbols[i - 1], first), -1))
                changes.append(((symbols[i - 1], new_id), +1))
            symbols[i : i + 2] = [new_id]
            if i < len(symbols) - 1:
                changes.append(((second, symbols[i + 1]), -1))
                changes.append(((new_id, symbols[i + 1]), +1))
        i += 1
    return changes


def learn(text: str, vocab_size: int) -> Iterator[MergeStep]:
    """Learn BPE merges on ``text`` until the vocabulary has ``vocab_size`` tokens (256 bytes +
    the merged tokens) or no pair is left; yield each merge as it is made.

    Identical words are stored once, weighted by how often they occur. The naive loop then
    recounts every adjacent pair of every word after each merge: a vocabulary of 1,000 on the
    shipped corpus means 744 full recounts, 36 s in Python (measured on a loaded 2-core machine).
    Instead we count pairs once, remember which words contain each pair, and after a merge touch
    only the words that contained the merged pair, applying the count changes ``_merge_in_word``
    reports (the incremental update of ``tokenizers``' ``BpeTrainer``): 0.4 s, same merges.

    Which pair is merged next: the most frequent; among equally frequent pairs, the smallest
    (first id, second id), compared as numbers. This is ``tokenizers``' rule (the ``Ord`` of its
    ``Merge``: count first, then the pair in ascending order). The ids matter here: a merged
    token's id is the order it was created in, and the byte ids follow ``BYTE_OF_ID``.

    Once a pair is in the heap its count only falls (new occurrences come from new tokens, hence
    new pairs), so an entry may hold a stale count: we pop it, compare with the live count, and
    push it back corrected if it changed (a lazy update, as ``tokenizers`` does).

    One corner is left undefined by ``tokenizers`` itself: if two merges spell the same bytes
    ("a"+"bc" and "ab"+"c"), the token keeps one id and its pairs can get two heap entries with
    equal counts, which its heap pops in no specified order. We have not seen it happen on the
    shipped corpus (the tests and ``bench/bpe.py`` would show it as a merge mismatch)."""
    if not isinstance(text, str):
        raise TypeError(f"train() needs the corpus as str, got {type(text).__name__}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 256:
        raise ValueError(f"vocab_size must be an int >= 256 (the 256 byte tokens), got {vocab_size!r}")

    _utf8(text)  # refuse lone surrogates up front, naming their index in the text
    vocab = _base_vocab()  # id -> bytes
    id_of_token = {token: i for i, token in enumerate(vocab)}
    word_counts = Counter(word.encode("utf-8") for word in pretokenize(text))
    words = [[ID_OF_BYTE[b] for b in word] for word in word_counts]  # each word as ids
    counts = list(word_counts.values())  # how often each word occurs

    pair_counts: Counter[Pair] = Counter()
    where: dict[Pair, set[int]] = {}  # pair -> indices of the words that contain it
    for w, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += counts[w]
            where.setdefault(pair, set()).add(w)
    # Max-heap by count, then min pair: heapq is a min-heap, so the count goes in negated.
    # ``order`` only keeps two entries for one pair from being compared by their word sets.
    order = 0
    heap = []
    for pair, positions in where.items():
        heap.append((-pair_counts[pair], pair, order, positions))
        order += 1
    heapq.heapify(heap)

    rank = 0
    while len(vocab) < vocab_size and heap:
        neg_count, pair, _, positions = heapq.heappop(heap)
        count = pair_counts[pair]
        if -neg_count != count:  # stale: put it back with its live count
            heapq.heappush(heap, (-count, pair, order, positions))
            order += 1
            continue
        if count < 1:
            break
        token = vocab[pair[0]] + vocab[pair[1]]
        if token not in id_of_token:  # two different merges can spell the same bytes
            id_of_token[token] = len(vocab)
            vocab.append(token)
        new_id = id_of_token[token]
        yield MergeStep(rank, pair, new_id, token, count)
        rank += 1

        new_positions: dict[Pair, set[int]] = {}
        for w in positions:
            for changed, delta in _merge_in_word(words[w], pair, new_id):
                pair_counts[changed] += delta * counts[w]
                if delta > 0:
                    new_positions.setdefault(changed, set()).add(w)
        for changed, w_set in new_positions.items():
            if pair_counts[changed] > 0:
                heapq.heappush(heap, (-pair_counts[changed], changed, order, w_set))
                order += 1


def train(text: str, vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE tokenizer on ``text`` with up to ``vocab_size`` tokens (>= 256).

    Fewer tokens result if the text runs out of pairs (a tiny corpus)."""
    return Tokenizer([step.pair for step in learn(text, vocab_size)])


# ---------------------------------------------------------------------------------------
# 4. The tokenizer: merges in order -> vocabulary; encode; decode
# ---------------------------------------------------------------------------------------


def _vocab_from_merges(merges: list[Pair]) -> tuple[list[bytes], dict[Pair, tuple[int, int]]]:
    """Replay ``merges`` on the 256 byte tokens: the vocabulary (id -> bytes) and, per pair, its
    (rank, id of the merged token). A pair merged twice keeps its later rank, as in
    ``tokenizers`` (which builds the same map from the same list)."""
    vocab = _base_vocab()
    id_of_token = {token: i for i, token in enumerate(vocab)}
    ranks: dict[Pair, tuple[int, int]] = {}
    for rank, pair in enumerate(merges):
        first, second = pair
        if not (0 <= first < len(vocab) and 0 <= second < len(vocab)):
            raise ValueError(
                f"merge {rank} {pair!r} names an id that does not exist yet (only ids 0..{len(vocab) - 1} "
                "exist at that point); merges must be listed in the order they were learned"
            )
        token = vocab[first] + vocab[second]
        if token not in id_of_token:
            id_of_token[token] = len(vocab)
            vocab.append(token)
        ranks[pair] = (rank, id_of_token[token])
    return vocab, ranks


class Tokenizer:
    """A trained byte-level BPE tokenizer, fully described by its ordered ``merges``.

    ``merges[r]`` is the pair of ids merged at step ``r``; ``vocab[i]`` is the bytes of id ``i``
    (ids 0..255 are single bytes in ``BYTE_OF_ID`` order, then one id per new token). Both are
    tuples: a tokenizer does not change once built."""

    def __init__(self, merges) -> None:
        self.merges: tuple[Pair, ...] = tuple((int(a), int(b)) for a, b in merges)
        vocab, self._ranks = _vocab_from_merges(list(self.merges))
        self.vocab: tuple[bytes, ...] = tuple(vocab)
        self._cache: dict[str, list[int]] = {}  # word -> ids: text repeats its words a lot

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.merges == other.merges

    __hash__ = None  # equal tokenizers compare equal, but they are not meant as dict keys

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size}, merges=<{len(self.merges)} pairs>)"

    @property
    def vocab_size(self) -> int:
        """Number of token ids: ``encode`` returns ids in ``range(vocab_size)``."""
        return len(self.vocab)

    def _rank(self, pair: Pair) -> float:
        """When ``pair`` was learned (lower merges first); infinity if it never was."""
        return self._ranks[pair][0] if pair in self._ranks else float("inf")

    def _encode_word(self, word: bytes) -> list[int]:
        """BPE on one word: start from its bytes and apply the learned merge with the lowest rank
        present, everywhere it occurs (left to right), until no learned merge applies. This is
        GPT-2's ``bpe()`` loop: at encoding, merges apply in the order they were learned."""
        ids = [ID_OF_BYTE[b] for b in word]
        while len(ids) > 1:
            best = min(zip(ids, ids[1:]), key=self._rank)
            if best not in self._ranks:
                break
            new_id = self._ranks[best][1]
            merged, i = [], 0
            while i < len(ids):
                if i + 1 < len(ids) and (ids[i], ids[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(ids[i])
                    i += 1
            ids = merged
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: cut into words (``pretokenize``), each word BPE-encoded on its
        UTF-8 bytes. Any str without lone surrogates is accepted; ``decode`` gives it back."""
        if not isinstance(text, str):
            raise TypeError(f"encode() needs a str, got {type(text).__name__}")
        _utf8(text)  # refuse lone surrogates up front, naming their index in the text
        ids: list[int] = []
        for word in pretokenize(text):
            if word not in self._cache:
                self._cache[word] = self._encode_word(word.encode("utf-8"))
            ids.extend(self._cache[word])
        return ids

    def decode(self, ids) -> str:
        """The text of ``ids`` (a sequence of ints, NumPy integers included): their bytes joined
        and read as UTF-8. A sequence cut inside a multi-byte character (e.g. a sampled
        continuation) decodes with U+FFFD in its place."""
        return b"".join(self.vocab[i] for i in _checked_ids(ids, len(self.vocab))).decode("utf-8", errors="replace")

    def save(self, path: str | Path) -> None:
        """Write the merges as JSON (``{"format": "runnable.bpe", "version": 1, "merges": [[a, b],
        ...]}``); the vocabulary follows from them. Written to a temporary file first, so a
        failed write leaves no half file."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"format": "runnable.bpe", "version": 1, "merges": [list(p) for p in self.merges]}))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Read a tokenizer written by ``save``; a clear ``ValueError`` if the file is not one."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read a BPE tokenizer ({exc})") from None
        if not (isinstance(data, dict) and data.get("format") == "runnable.bpe" and data.get("version") == 1):
            raise ValueError(f'{path}: not a runnable.bpe file (expected {{"format": "runnable.bpe", "version": 1}})')
        merges = data.get("merges")
        if not isinstance(merges, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(type(i) is int for i in p) for p in merges
        ):
            raise ValueError(f"{path}: 'merges' must be a list of [int, int] pairs")
        try:
            return cls(merges)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


def _checked_ids(ids, size: int) -> Iterator[int]:
    """Each id of ``ids`` as an int, or an error naming the first one that is not an integer or
    lies outside ``range(size)`` (a negative id would otherwise read from the end of the vocabulary)."""
    for position, i in enumerate(ids):
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError(f"token id at position {position} is {i!r}, not an int")
        if not 0 <= i < size:
            raise ValueError(f"token id {i} at position {position} is outside the vocabulary (0..{size - 1})")
        yield int(i)


# ---------------------------------------------------------------------------------------
# 5. Watch it learn: python -m runnable.bpe
# ---------------------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parent / "data" / "corpus.txt"


def show(token: bytes) -> str:
    """A token for display: its text, with spaces and newlines made visible."""
    return token.decode("utf-8", errors="replace").replace(" ", "␣").replace("\n", "⏎")


def main(argv: list[str] | None = None) -> int:
    """Train on the shipped corpus (or a UTF-8 file) and print the merges as they are learned."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m runnable.bpe", description=main.__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=CORPUS, help="UTF-8 text to train on")
    parser.add_argument("--vocab", type=int, default=512, help="vocabulary size, >= 256 (default 512)")
    parser.add_argument("--show", type=int, default=20, help="how many merges to print (default 20)")
    args = parser.parse_args(argv)
    if args.vocab < 256 or args.show < 0:
        parser.error("--vocab must be >= 256 (the 256 byte tokens) and --show >= 0")
    try:
        text = args.file.read_text(encoding="utf-8")
        steps = list(learn(text, args.vocab))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"error: cannot train on {args.file}: {exc}", file=sys.stderr)
        return 2
    tok = Tokenizer([s.pair for s in steps])
    for s in steps[: args.show]:
        left, right = tok.vocab[s.pair[0]], tok.vocab[s.pair[1]]
        print(f"{s.rank:>5}  {show(left):>8} + {show(right):<8} -> {show(s.token):<12} seen {s.count:,} times")
    n_ids = len(tok.encode(text))
    print(f"{len(steps)} merges, {tok.vocab_size} tokens: {len(text.encode()):,} bytes -> {n_ids:,} tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
