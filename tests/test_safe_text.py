"""escape_control and escape_markdown: hostile text prints as what it is."""

from __future__ import annotations

import pytest

from learnpath.safe_text import REFERENCE_BREAK, escape_control, escape_markdown, unsafe_character


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clear\x1b[2Jscreen", "clear\\x1b[2Jscreen"),  # ANSI: clear the screen
        ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),  # OSC: retitle the window
        ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),  # one field stays on one line
        ("\x9bcsi", "\\x9bcsi"),  # the 8-bit CSI
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("zero\u200bwidth\u200d", "zero\\u200bwidth\\u200d"),
        ("\ufeffbom", "\\ufeffbom"),
        ("Ünïcödé — “quotes” 注意", "Ünïcödé — “quotes” 注意"),  # ordinary text untouched
    ],
)
def test_escape_control(text: str, expected: str) -> None:
    assert escape_control(text) == expected


def test_unsafe_character_names_the_first() -> None:
    assert unsafe_character("fine") is None
    assert unsafe_character("x\u200dy\x1b") == "\\u200d (zero width joiner)"
    assert unsafe_character("x\x1by") == "\\x1b (control character)"


@pytest.mark.parametrize(
    "text",
    ["@octocat", "![x](https://example.org/x.png)", "<img src=x onerror=alert(1)>", "**bold** _it_", "[a](b)",
     "| cell |", "# heading", "`code`", "see #12 and @org/team"],
)
def test_escape_markdown_leaves_no_live_syntax(text: str) -> None:
    escaped = escape_markdown(text)
    assert escaped.replace(REFERENCE_BREAK, "").replace("\\", "") == text.replace("\\", "")
    # every metacharacter is preceded by a backslash (the breaks we insert aside)
    for i, char in enumerate(escaped.replace(REFERENCE_BREAK, "")):
        if char in "@!<>[]()*_|#`":
            assert escaped.replace(REFERENCE_BREAK, "")[i - 1] == "\\", (text, escaped)


@pytest.mark.parametrize(("text", "expected"), [
    ("@octocat", "\\@<!-- -->octocat"),
    ("fixes #12", "fixes \\#<!-- -->12"),
    ("mail a@b.example", "mail a\\@<!-- -->b\\.example"),
])
def test_mentions_and_references_are_broken_not_just_escaped(text: str, expected: str) -> None:
    # GitHub links @name and #123 after rendering, so "\\@name" still notifies (github/cmark-gfm#181).
    assert escape_markdown(text) == expected


def test_urls_are_not_autolinked() -> None:
    # GFM's autolink extension needs "https:" / "www." spelt out; escaped, they are text.
    escaped = escape_markdown("go to https://evil.example or www.evil.example")
    assert "https://" not in escaped and "www." not in escaped
