"""The training demo, in a short form: the loss must fall well below where it starts."""

from __future__ import annotations

import math

import numpy as np

from runnable.train_toy import ToySettings, main, make_batch, train


def test_batches_are_reversals_with_a_start_token():
    src, tgt_in, tgt = make_batch(np.random.default_rng(0), ToySettings(), 4)
    np.testing.assert_array_equal(tgt, src[:, ::-1])
    np.testing.assert_array_equal(tgt_in[:, 0], 10)  # the start token id is n_symbols
    np.testing.assert_array_equal(tgt_in[:, 1:], tgt[:, :-1])


def test_short_run_loss_falls_well_below_its_start():
    logs = []
    result = train(ToySettings(seed=0, max_steps=120, log_every=40, test_size=200), on_log=logs.append)
    start = math.log(11)  # uniform guess over 11 output ids
    assert abs(result.losses[0] - start) < 0.3  # it does start near chance
    assert np.mean(result.losses[-10:]) < 0.25 * result.losses[0]
    assert np.mean(result.batch_accuracies[-10:]) > np.mean(result.batch_accuracies[:10])
    assert len(logs) == 3 and "loss" in logs[0]
    assert 0.0 <= result.test_accuracy <= 1.0


def test_same_seed_same_run():
    a = train(ToySettings(seed=3, max_steps=5, test_size=10))
    b = train(ToySettings(seed=3, max_steps=5, test_size=10))
    assert a.losses == b.losses


def test_cli_reports_the_target_and_exits_non_zero_when_missed(capsys):
    status = main(["--seed", "0", "--steps", "3", "--test-size", "50", "--log-every", "1"])
    out = capsys.readouterr().out.strip().splitlines()
    assert status == 1
    assert out[-1].startswith("held-out exact match ")
    assert "after 3 steps" in out[-1] and "TARGET MISSED" in out[-1]


def test_cli_rejects_bad_settings(capsys):
    assert main(["--d-model", "30", "--heads", "4"]) == 2
    assert "divisible" in capsys.readouterr().err
