"""Word embeddings: word2vec's skip-gram with negative sampling, trained by hand.

Mikolov, Chen, Corrado & Dean, "Efficient Estimation of Word Representations in
Vector Space" (2013), introduce the skip-gram model: each word predicts the
words around it. Mikolov, Sutskever, Chen, Corrado & Dean, "Distributed
Representations of Words and Phrases and their Compositionality" (NeurIPS 2013)
make it cheap with negative sampling: for a centre word c with input vector v_c
and a context word o with output vector u_o, minimise (their equation 4)

    loss = -log sigmoid(u_o . v_c) - sum_{k=1..K} log sigmoid(-u_k . v_c)      (4)

where the K "negative" words k are drawn from the unigram distribution raised to
the power 3/4. Frequent words are randomly dropped with probability
1 - sqrt(t / f(w)) (their equation 5), so that "the" does not dominate.

Words that appear in similar contexts end up with similar input vectors, so
cosine similarity between vectors finds related words. To show this without
shipping a corpus, ``make_corpus`` writes sentences about five topics: a word
never shares a sentence with a word of another topic, and the filler words go
everywhere. After a few seconds of training, each topic word's nearest
neighbours are the other words of its topic.

Run ``python -m runnable.embeddings`` to train and print nearest neighbours.
Shapes: V vocabulary size, D embedding dimension, N pairs in a batch, K negatives.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np

from runnable._common import lookup, sigmoid

TOPICS: dict[str, tuple[str, ...]] = {
    "animals": ("cat", "dog", "horse", "cow", "sheep"),
    "fruit": ("apple", "banana", "cherry", "grape", "pear"),
    "colours": ("red", "green", "blue", "yellow", "purple"),
    "numbers": ("one", "two", "three", "four", "five"),
    "weather": ("rain", "snow", "wind", "sun", "fog"),
}
FILLERS = ("the", "a", "and", "of", "is")


@dataclass(frozen=True)
class Corpus:
    """Sentences of word ids, all the same length, and the words the ids stand for."""

    sentences: np.ndarray  # [S, L] int64
    vocab: tuple[str, ...]

    def id(self, word: str) -> int:
        """The id of ``word``; a KeyError listing the vocabulary if it is unknown."""
        try:
            return self.vocab.index(word)
        except ValueError:
            raise KeyError(f"{word!r} is not in the vocabulary; known words: {', '.join(self.vocab)}") from None


@dataclass
class SkipGramParams:
    """The two embedding tables of the skip-gram model; ``input_vectors`` are the embeddings we keep."""

    input_vectors: np.ndarray  # [V, D], v in equation (4)
    output_vectors: np.ndarray  # [V, D], u in equation (4)


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters; the defaults train in about a second on one core."""

    dim: int = 16
    window: int = 2
    negatives: int = 5
    epochs: int = 5
    batch_size: int = 256
    # Steps follow the gradient of the batch mean: 5 / 256 pairs is about word2vec's 0.025 per pair.
    learning_rate: float = 5.0
    subsample: float = 0.02  # t in equation (5); large because our vocabulary is tiny


def make_corpus(rng: np.random.Generator, n_sentences: int = 2000, length: int = 8, filler_rate: float = 0.3) -> Corpus:
    """Sentences that each keep to one topic, with filler words mixed in at ``filler_rate``."""
    vocab = FILLERS + tuple(word for words in TOPICS.values() for word in words)
    n_fill, per_topic = len(FILLERS), len(next(iter(TOPICS.values())))
    topic = rng.integers(len(TOPICS), size=(n_sentences, 1))  # [S, 1]
    topic_word = n_fill + topic * per_topic + rng.integers(per_topic, size=(n_sentences, length))  # [S, L]
    filler = rng.integers(n_fill, size=(n_sentences, length))  # [S, L]
    sentences = np.where(rng.random((n_sentences, length)) < filler_rate, filler, topic_word)  # [S, L]
    return Corpus(sentences.astype(np.int64), vocab)


def subsample(rng: np.random.Generator, sentences: np.ndarray, vocab_size: int, t: float) -> np.ndarray:
    """Equation (5): keep word w with probability sqrt(t / f(w)); dropped words become -1."""
    freq = np.bincount(sentences.ravel(), minlength=vocab_size) / sentences.size  # [V]
    keep = np.minimum(1.0, np.sqrt(t / np.maximum(freq, 1e-12)))  # [V]
    return np.where(rng.random(sentences.shape) < keep[sentences], sentences, -1)  # [S, L]


def skipgram_pairs(sentences: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (centre, context) pair at most ``window`` apart within a sentence.

    Pairs never cross a sentence boundary, and dropped words (-1) pair with nothing.
    """
    centres, contexts = [], []
    for offset in range(1, window + 1):
        left, right = sentences[:, :-offset], sentences[:, offset:]  # [S, L - offset] each
        valid = (left >= 0) & (right >= 0)
        centres += [left[valid], right[valid]]  # each word predicts both neighbours
        contexts += [right[valid], left[valid]]
    return np.concatenate(centres), np.concatenate(contexts)  # [P], [P]


def noise_distribution(sentences: np.ndarray, vocab_size: int, power: float = 0.75) -> np.ndarray:
    """Unigram counts raised to 3/4 and normalised: rare words are drawn more often than their share."""
    counts = np.bincount(sentences.ravel(), minlength=vocab_size).astype(np.float64)  # [V]
    weights = counts**power
    return weights / weights.sum()


def init_params(vocab_size: int, dim: int, rng: np.random.Generator, dtype=np.float64) -> SkipGramParams:
    """word2vec's initialisation: small random input vectors, zero output vectors."""
    input_vectors = rng.uniform(-0.5 / dim, 0.5 / dim, size=(vocab_size, dim)).astype(dtype)
    return SkipGramParams(input_vectors, np.zeros((vocab_size, dim), dtype=dtype))  # [V, D] each


def sgns_loss_and_gradients(
    centres: np.ndarray, contexts: np.ndarray, negatives: np.ndarray, params: SkipGramParams
) -> tuple[float, SkipGramParams]:
    """The mean of equation (4) over a batch of pairs, and its gradient for both tables.

    With s = u . v, d/ds[-log sigmoid(s)] = sigmoid(s) - 1 and d/ds[-log sigmoid(-s)] = sigmoid(s).
    """
    v = lookup(params.input_vectors, centres, "centres")  # [N] -> [N, D]
    u_pos = lookup(params.output_vectors, contexts, "contexts")  # [N] -> [N, D]
    u_neg = lookup(params.output_vectors, negatives, "negatives")  # [N, K] -> [N, K, D]
    s_pos = np.einsum("nd,nd->n", u_pos, v)  # [N, D] x [N, D] -> [N]
    s_neg = np.einsum("nkd,nd->nk", u_neg, v)  # [N, K, D] x [N, D] -> [N, K]
    n = len(centres)
    # -log sigmoid(s) = log(1 + exp(-s)), computed without overflow.
    loss = (np.logaddexp(0, -s_pos).sum() + np.logaddexp(0, s_neg).sum()) / n

    g_pos = (sigmoid(s_pos) - 1) / n  # [N]
    g_neg = sigmoid(s_neg) / n  # [N, K]
    grad_v = g_pos[:, None] * u_pos + np.einsum("nk,nkd->nd", g_neg, u_neg)  # [N, D] + [N, K] x [N, K, D] -> [N, D]
    grad_u_pos = g_pos[:, None] * v  # [N, 1] * [N, D] -> [N, D]
    grad_u_neg = g_neg[:, :, None] * v[:, None, :]  # [N, K, 1] * [N, 1, D] -> [N, K, D]
    grads = SkipGramParams(np.zeros_like(params.input_vectors), np.zeros_like(params.output_vectors))  # [V, D] each
    # np.add.at, not fancy-index assignment: a word can occur many times in a batch.
    np.add.at(grads.input_vectors, centres, grad_v)  # [N, D] summed into [V, D]
    np.add.at(grads.output_vectors, contexts, grad_u_pos)  # [N, D] summed into [V, D]
    np.add.at(grads.output_vectors, negatives, grad_u_neg)  # [N, K, D] summed into [V, D]
    return float(loss), grads


def train(
    corpus: Corpus, config: TrainingConfig = TrainingConfig(), seed: int = 0, dtype=np.float64
) -> tuple[SkipGramParams, list[float]]:
    """Train skip-gram with negative sampling; returns the parameters and the mean loss of each epoch.

    The learning rate falls linearly towards zero, as in the word2vec tool. The
    same seed gives the same vectors.
    """
    rng = np.random.default_rng(seed)
    vocab_size = len(corpus.vocab)
    params = init_params(vocab_size, config.dim, rng, dtype)
    noise = noise_distribution(corpus.sentences, vocab_size)  # [V]
    steps_per_epoch = None
    epoch_losses = []
    for epoch in range(config.epochs):
        kept = subsample(rng, corpus.sentences, vocab_size, config.subsample)  # fresh draw each epoch
        centres, contexts = skipgram_pairs(kept, config.window)  # [P], [P]
        order = rng.permutation(len(centres))
        steps_per_epoch = steps_per_epoch or math.ceil(len(order) / config.batch_size)
        losses = []
        for step, start in enumerate(range(0, len(order), config.batch_size)):
            batch = order[start : start + config.batch_size]  # [N]
            negatives = rng.choice(vocab_size, size=(len(batch), config.negatives), p=noise)  # [N, K]
            progress = (epoch * steps_per_epoch + step) / (config.epochs * steps_per_epoch)
            lr = config.learning_rate * max(1 - progress, 1e-4)
            loss, grads = sgns_loss_and_gradients(centres[batch], contexts[batch], negatives, params)
            params.input_vectors -= lr * grads.input_vectors
            params.output_vectors -= lr * grads.output_vectors
            losses.append(loss)
        epoch_losses.append(float(np.mean(losses)))
    return params, epoch_losses


def nearest_neighbours(vectors: np.ndarray, word_id: int, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` words whose vectors have the largest cosine similarity with ``word_id``'s (itself excluded)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)  # [V, D] -> [V, 1]
    unit = vectors / np.maximum(norms, np.finfo(vectors.dtype).tiny)  # [V, D]
    similarity = unit @ unit[word_id]  # [V, D] x [D] -> [V]
    similarity[word_id] = -np.inf
    best = np.argsort(-similarity, kind="stable")[:k]  # [V] -> [k]
    return best, similarity[best]


def main(argv: list[str] | None = None) -> int:
    """Train on the generated corpus and print the loss per epoch and some nearest neighbours."""
    parser = argparse.ArgumentParser(description="Train skip-gram with negative sampling on a synthetic corpus.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=TrainingConfig.epochs)
    args = parser.parse_args(argv)
    corpus = make_corpus(np.random.default_rng(args.seed))
    params, losses = train(corpus, TrainingConfig(epochs=args.epochs), seed=args.seed)
    for epoch, loss in enumerate(losses, 1):
        print(f"epoch {epoch}: mean loss {loss:.3f}")
    for word in ("cat", "apple", "red", "three", "snow"):
        ids, sims = nearest_neighbours(params.input_vectors, corpus.id(word))
        shown = ", ".join(f"{corpus.vocab[i]} ({s:.2f})" for i, s in zip(ids, sims))
        print(f"{word:>6}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
