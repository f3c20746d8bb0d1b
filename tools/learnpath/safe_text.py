"""Text from the network or the catalog, made safe for the outputs people read.

A server can put terminal escape sequences in a status line or a ``Location``
header (clear the screen, retitle the window), and a page title or a catalog
field can carry zero-width or bidirectional-override characters that make a
message read differently from what it says. Every human-facing output (the
terminal, GitHub annotations, Markdown) passes such text through
``escape_control``; Markdown output also through ``escape_markdown``.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls (tab and newline included: one field, one line), DEL, and the
# format characters that change how surrounding text reads: zero-width joiners and
# spaces, bidirectional embeddings, overrides and isolates, the BOM.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def unsafe_character(text: str) -> str | None:
    """The first control or invisible formatting character in ``text``, described, or None."""
    match = _UNSAFE.search(text)
    if match is None:
        return None
    char = match.group(0)
    name = unicodedata.name(char, "control character")
    return f"{_escaped(match)} ({name.lower()})"


def escape_control(text: str) -> str:
    """``text`` with every control and invisible formatting character written as ``\\xNN`` /
    ``\\uNNNN``, so it prints as what it is and cannot drive a terminal."""
    return _UNSAFE.sub(_escaped, text)


# Characters with a meaning in GitHub-flavoured Markdown or HTML, where they open
# emphasis, links, images, code, tables, headings, mentions or tags. Escaping ':' and
# '.' also keeps GFM's autolink extension from linking "https://..." and "www.".
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~@&:])")
# GitHub makes @name a mention (a notification) and #123 a reference after rendering the
# Markdown, so a backslash does not stop them (github/cmark-gfm#181: "\@github still
# yields @github"); only code, or markup between the sign and the name, does. An empty
# HTML comment renders as nothing and splits the text the mention filter reads.
_GITHUB_REFERENCE = re.compile(r"\\([@#])")
REFERENCE_BREAK = "<!-- -->"


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown: controls escaped, every Markdown/HTML metacharacter
    backslash-escaped (``![x](y)`` cannot embed, ``<b>`` is text, a URL is not linked) and
    ``@``/``#`` followed by an empty comment (``@user`` cannot mention, ``#1`` cannot link)."""
    return _GITHUB_REFERENCE.sub(r"\\\1" + REFERENCE_BREAK, _MARKDOWN.sub(r"\\\1", escape_control(text)))


def escape_workflow_data(text: str) -> str:
    """``text`` as the message of a GitHub workflow command (``::error ...::MESSAGE``).

    ``%``, CR and LF are percent-encoded as GitHub's runner expects (a line
    break shows as one in the annotation, but cannot end the command early or
    start a second one); every other control is escaped as ``\\xNN``, since the
    log viewer would act on it.
    """
    lines = text.replace("%", "%25").replace("\r", "%0D").split("\n")
    return "%0A".join(escape_control(line) for line in lines)


def escape_workflow_property(text: str) -> str:
    """``text`` as a property value of a workflow command: also ``:`` and ``,``, which delimit properties."""
    return escape_workflow_data(text).replace(":", "%3A").replace(",", "%2C")
