"""URL normalization: every spelling of one page gives one key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learnpath.catalog.urls import normalize_url, same_url

SAME = [
    ("http://example.org/a", "https://example.org/a"),
    ("https://example.org/a/", "https://example.org/a"),
    ("https://EXAMPLE.org/a", "https://example.org/a"),
    ("https://www.example.org/a", "https://example.org/a"),
    ("https://example.org:443/a", "https://example.org/a"),
    ("http://example.org:80/a", "https://example.org/a"),
    ("https://example.org/a?utm_source=x&utm_medium=y", "https://example.org/a"),
    ("https://example.org/a?fbclid=1&gclid=2", "https://example.org/a"),
    ("https://example.org/a?b=2&a=1", "https://example.org/a?a=1&b=2"),
    ("https://example.org/a#", "https://example.org/a"),
    ("https://example.org/a#top", "https://example.org/a"),
    ("https://example.org/a#:~:text=attention", "https://example.org/a"),
    ("https://example.org/docs/index.html", "https://example.org/docs"),
    ("https://example.org/~user", "https://example.org/%7Euser"),
    ("https://youtu.be/AbCdEfGhIjK", "https://www.youtube.com/watch?v=AbCdEfGhIjK"),
    ("https://youtu.be/AbCdEfGhIjK?si=tracking", "https://youtube.com/watch?v=AbCdEfGhIjK"),
    ("https://www.youtube.com/embed/AbCdEfGhIjK", "https://youtube.com/watch?v=AbCdEfGhIjK"),
    ("https://m.youtube.com/watch?v=AbCdEfGhIjK&feature=share", "https://youtube.com/watch?v=AbCdEfGhIjK"),
    ("https://www.youtube.com/watch?v=AbCdEfGhIjK&list=PLx&index=4", "https://youtube.com/watch?v=AbCdEfGhIjK"),
    ("https://www.youtube.com/watch?v=AbCdEfGhIjK&t=90s", "https://youtube.com/watch?v=AbCdEfGhIjK"),
    ("https://www.youtube-nocookie.com/embed/AbCdEfGhIjK", "https://youtube.com/watch?v=AbCdEfGhIjK"),
    ("https://arxiv.org/pdf/1706.03762", "https://arxiv.org/abs/1706.03762"),
    ("https://arxiv.org/pdf/1706.03762v7.pdf", "http://arxiv.org/abs/1706.03762v1"),
]

DIFFERENT = [
    ("https://example.org/a", "https://example.org/b"),
    ("https://example.org/a", "https://example.org/A"),  # paths are case-sensitive
    ("https://example.org/a?page=2", "https://example.org/a"),  # a real parameter
    ("https://example.org/book#chapter-3", "https://example.org/book#chapter-4"),
    ("https://example.org/book#chapter-3", "https://example.org/book"),
    ("https://example.org:8443/a", "https://example.org/a"),
    ("https://youtu.be/AbCdEfGhIjK", "https://youtu.be/ZyXwVuTsRqP"),
    ("https://www.youtube.com/playlist?list=PL1", "https://www.youtube.com/playlist?list=PL2"),
    ("https://arxiv.org/abs/1706.03762", "https://arxiv.org/abs/1810.04805"),
    ("https://example.org/a", "https://example.com/a"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_resource(a: str, b: str) -> None:
    assert normalize_url(a) == normalize_url(b)
    assert same_url(a, b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_resources(a: str, b: str) -> None:
    assert normalize_url(a) != normalize_url(b)


@pytest.mark.parametrize("url", [a for a, _ in SAME] + [a for a, _ in DIFFERENT])
def test_normalizing_twice_changes_nothing(url: str) -> None:
    assert normalize_url(normalize_url(url)) == normalize_url(url)


@pytest.mark.parametrize("text", ["", "not a url", "http://[::1", "https://example.org:99999/", "javascript:alert(1)"])
def test_odd_input_does_not_raise(text: str) -> None:
    assert isinstance(normalize_url(text), str)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_a_string(text: str) -> None:
    assert isinstance(normalize_url(text), str)
    assert isinstance(normalize_url("https://example.org/" + text), str)
