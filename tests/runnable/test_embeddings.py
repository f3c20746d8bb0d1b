"""Skip-gram with negative sampling: gradients, training, and meaningful neighbours."""

import math

import numpy as np
import pytest

from runnable.embeddings import (
    FILLERS,
    TOPICS,
    TrainingConfig,
    init_params,
    make_corpus,
    nearest_neighbours,
    noise_distribution,
    sgns_loss_and_gradients,
    skipgram_pairs,
    subsample,
    train,
)


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(np.random.default_rng(0))


@pytest.fixture(scope="module")
def trained(corpus):
    return train(corpus, seed=0)


def test_corpus_keeps_each_sentence_to_one_topic(corpus):
    n_fill = len(FILLERS)
    for sentence in corpus.sentences[:200]:
        topics = {(w - n_fill) // 5 for w in sentence if w >= n_fill}
        assert len(topics) <= 1


def test_pairs_stay_inside_sentences_and_skip_dropped_words():
    sentences = np.array([[0, 1, 2], [3, -1, 4]])
    centres, contexts = skipgram_pairs(sentences, window=1)
    pairs = set(zip(centres.tolist(), contexts.tolist()))
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1)}


def test_subsampling_drops_frequent_words_more(corpus, rng):
    kept = subsample(rng, corpus.sentences, len(corpus.vocab), t=0.02)
    counts_before = np.bincount(corpus.sentences.ravel())
    counts_after = np.bincount(kept[kept >= 0], minlength=len(counts_before))
    kept_fraction = counts_after / counts_before
    assert kept_fraction[: len(FILLERS)].max() < kept_fraction[len(FILLERS) :].min()


def test_noise_distribution_flattens_the_unigram_counts():
    sentences = np.array([[0] * 8 + [1] * 2])
    noise = noise_distribution(sentences, 2)
    assert noise.sum() == pytest.approx(1)
    assert noise[1] == pytest.approx(2**0.75 / (8**0.75 + 2**0.75))


def test_gradients_match_finite_differences(rng, numerical_grad):
    params = init_params(vocab_size=7, dim=3, rng=rng)
    params.input_vectors[:] = rng.normal(size=params.input_vectors.shape)
    params.output_vectors[:] = rng.normal(size=params.output_vectors.shape)
    centres, contexts = np.array([0, 3, 3, 5]), np.array([1, 2, 2, 0])
    negatives = np.array([[2, 6], [1, 1], [4, 3], [0, 6]])  # repeats exercise np.add.at
    _, grads = sgns_loss_and_gradients(centres, contexts, negatives, params)

    def loss():
        return sgns_loss_and_gradients(centres, contexts, negatives, params)[0]

    for name in ("input_vectors", "output_vectors"):
        numerical_grad(loss, getattr(params, name)).assert_matches(getattr(grads, name), name)


def test_training_loss_falls(trained):
    _, losses = trained
    untrained = 6 * math.log(2)  # zero output vectors: sigmoid(0) = 1/2 for the 1 + 5 terms
    assert losses[0] < untrained
    assert losses[-1] < losses[0]
    assert losses[-1] < 0.5 * untrained


@pytest.mark.parametrize("word", ["cat", "banana", "red", "three", "fog"])
def test_nearest_neighbours_are_the_same_topic(corpus, trained, word):
    params, _ = trained
    same_topic = next(words for words in TOPICS.values() if word in words)
    ids, sims = nearest_neighbours(params.input_vectors, corpus.id(word), k=4)
    assert {corpus.vocab[i] for i in ids} == set(same_topic) - {word}
    assert np.all(np.diff(sims) <= 0)
    # and clearly separated from the next-nearest word, which is from elsewhere
    _, sims_5 = nearest_neighbours(params.input_vectors, corpus.id(word), k=5)
    assert sims_5[3] - sims_5[4] > 0.2


def test_training_is_deterministic_and_keeps_float32(corpus):
    config = TrainingConfig(epochs=1)
    first, losses_1 = train(corpus, config, seed=3, dtype=np.float32)
    second, losses_2 = train(corpus, config, seed=3, dtype=np.float32)
    assert first.input_vectors.dtype == np.float32 and first.output_vectors.dtype == np.float32
    np.testing.assert_array_equal(first.input_vectors, second.input_vectors)
    assert losses_1 == losses_2
    other, _ = train(corpus, config, seed=4, dtype=np.float32)
    assert not np.array_equal(first.input_vectors, other.input_vectors)


def test_unknown_word_error_lists_the_vocabulary(corpus):
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary; known words: the, a"):
        corpus.id("zebra")


def test_command_prints_falling_loss_and_topical_neighbours(capsys):
    from runnable.embeddings import main

    assert main(["--epochs", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    losses = [float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("epoch")]
    assert len(losses) == 3 and losses[-1] < losses[0]
    cat_line = next(line for line in lines if line.strip().startswith("cat:"))
    neighbours = {entry.split()[0] for entry in cat_line.split(":", 1)[1].split(",")}
    assert neighbours == {"dog", "horse", "cow", "sheep"}
