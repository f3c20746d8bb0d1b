"""ALiBi (Press et al. 2022): the slopes of section 3, and a bias that depends only on the offset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runnable.alibi import alibi_bias, alibi_slopes


def test_slopes_for_a_power_of_two_are_the_papers_geometric_sequence():
    """Section 3: for 8 heads 1/2, 1/4, ..., 1/256; in general 2^(-8/n) to the powers 1..n."""
    np.testing.assert_array_equal(alibi_slopes(8), [2.0**-i for i in range(1, 9)])
    np.testing.assert_array_equal(alibi_slopes(4), [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8])
    np.testing.assert_array_equal(alibi_slopes(1), [2.0**-8])


def test_slopes_for_other_head_counts_fill_up_from_the_next_power_of_two():
    """6 heads: the 4-head slopes, then every other 8-head slope (1/2, 1/8) as the authors' code does."""
    np.testing.assert_array_equal(alibi_slopes(6), [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3])
    assert len(set(alibi_slopes(12))) == 12
    with pytest.raises(ValueError, match="at least one head"):
        alibi_slopes(0)


def test_bias_rows_are_the_papers_linear_penalty():
    """Query i (counting from 1) gets m * [-(i-1), ..., -2, -1, 0] on keys 1..i."""
    bias = alibi_bias(2, np.arange(4), np.arange(4))  # slopes 1/16, 1/256
    assert bias.shape == (2, 4, 4)
    for h, m in enumerate(alibi_slopes(2)):
        for i in range(4):
            np.testing.assert_array_equal(bias[h, i, : i + 1], m * -np.arange(i, -1, -1.0))


@settings(max_examples=200, deadline=None)
@given(n_heads=st.integers(1, 16), start=st.integers(0, 4096), length=st.integers(1, 12), shift=st.integers(0, 4096))
def test_bias_depends_only_on_the_offset(n_heads, start, length, shift):
    """Moving every query and key by the same shift leaves the bias unchanged, exactly:
    the distances are small integers and each bias is one product by the slope."""
    positions = np.arange(start, start + length)
    np.testing.assert_array_equal(
        alibi_bias(n_heads, positions + shift, positions + shift), alibi_bias(n_heads, positions, positions)
    )


def test_bias_keeps_the_dtype():
    assert alibi_bias(4, np.arange(3), np.arange(3), np.float32).dtype == np.float32
