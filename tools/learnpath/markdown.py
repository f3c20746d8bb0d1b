"""Where fenced code blocks are in a Markdown page: the one home for that rule.

Two readers need it and must agree: the link checker skips URLs inside code
(an example URL in a code sample is not a link anybody follows), and the site
hook expands ``<!-- learnpath:... -->`` markers only outside code (a page that
documents a marker shows it in a fence).

The rule is CommonMark's (spec 0.31, "Fenced code blocks"), with one
relaxation for MkDocs pages:

* a fence opens with three or more backticks or tildes; a backtick fence's
  info string may not contain a backtick (```` ``x`` ```` is inline code);
* it closes at a line of the *same* character, at least as long, with nothing
  after it but spaces (```` ```python ```` inside a block does not close it);
* an unclosed fence runs to the end of the page;
* any indentation is accepted, not just 0-3 spaces: MkDocs pages fence code
  inside admonitions, tabs and list items, indented by four or more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_OPENING = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def opening_fence(line: str) -> str | None:
    """The fence string (e.g. "```" or "~~~~") if ``line`` opens a fenced block, else None."""
    match = _OPENING.match(line)
    if match is None:
        return None
    fence = match.group("fence")
    if fence[0] == "`" and "`" in match.group("info"):
        return None  # ```a``` is inline code, not a fence
    return fence


def closes_fence(line: str, fence: str) -> bool:
    """Whether ``line`` closes the block opened by ``fence``."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def fenced_lines(lines: Iterable[str]) -> Iterator[tuple[int, str, bool]]:
    """``(number, line, fenced)`` for every line, numbered from 1.

    ``fenced`` is True for a block's content and for its opening and closing
    fence lines: nothing on them is prose.
    """
    fence: str | None = None
    for number, line in enumerate(lines, start=1):
        if fence is not None:
            if closes_fence(line, fence):
                fence = None
            yield number, line, True
            continue
        fence = opening_fence(line)
        yield number, line, fence is not None


def outside_fences(text: str) -> Iterator[tuple[int, str]]:
    """``(number, line)`` for each line of ``text`` that is not part of a fenced code block."""
    for number, line, fenced in fenced_lines(text.splitlines()):
        if not fenced:
            yield number, line


# What else is code, for readers of links (the link checker, `learnpath import`): indented
# code blocks, inline code spans and HTML comments.
_CONTAINER = re.compile(
    r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:\s|$)"  # list item: its indented lines are content
    r"|^ {0,3}(?:!!!|\?\?\?\+?|===)"  # admonitions and tabs (pymdown) indent their body
    r"|^ {0,3}\[\^[^\]]+\]:"  # footnote definitions too
)
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_HTML_COMMENT = re.compile(r"<!--.*?-->")


def _blank_spans(line: str, pattern: re.Pattern[str]) -> str:
    """Replace matches with spaces so later columns stay where they were."""
    return pattern.sub(lambda m: " " * len(m.group(0)), line)


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for lines outside code, with inline code and comments blanked.

    Fenced blocks follow ``outside_fences`` (the site hook's rule too). An
    indented code block is a run of lines indented by four or more after a
    blank line, unless they continue a list item, admonition or tab, whose
    bodies MkDocs pages indent the same way.
    """
    in_comment = False
    previous_blank = True
    in_container = False
    in_indented_code = False
    for number, raw in outside_fences(text):
        line = raw.expandtabs(4)
        blank = not line.strip()
        indented = line.startswith("    ")
        if not blank and not indented:
            in_container = bool(_CONTAINER.match(line))
            in_indented_code = False
        elif indented and not blank and (in_indented_code or (previous_blank and not in_container)):
            in_indented_code = True
        previous_blank = blank
        if in_indented_code and indented:
            continue
        line, in_comment = _strip_comments(line, in_comment)
        yield number, _blank_spans(line, _INLINE_CODE)


def _strip_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """Blank HTML comments, which may span lines; return the line and whether one is still open."""
    if in_comment:
        end = line.find("-->")
        if end == -1:
            return " " * len(line), True
        line = " " * (end + 3) + line[end + 3:]
    line = _blank_spans(line, _HTML_COMMENT)
    start = line.find("<!--")
    if start != -1:
        return line[:start] + " " * (len(line) - start), True
    return line, False
