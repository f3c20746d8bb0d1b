"""escape_control and escape_markdown: hostile text prints as what it is."""

from __future__ import annotations

import pytest

from learnpath.safe_text import escape_control, escape_markdown, unsafe_character


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
     "| cell |", "# heading", "`code`"],
)
def test_escape_markdown_leaves_no_live_syntax(text: str) -> None:
    escaped = escape_markdown(text)
    # every metacharacter is preceded by a backslash
    for i, char in enumerate(escaped):
        if char in "@!<>[]()*_|#`":
            assert escaped[i - 1] == "\\", (text, escaped)
