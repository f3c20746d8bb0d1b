"""Say an indentation mistake in plain words: which line, how far it is indented, what was expected.

A YAML parser reports a mis-indented key as "did not find expected '-'
indicator while parsing a block collection" or "mapping values are not
allowed in this context", often at a column that is not where the mistake
is. Most such errors in a catalog are one line shifted by a space or two, so
we re-read the lines around the parser's mark with a simple model of block
indentation (every line is a sibling of an earlier line, or the first child
of a line ending in ``key:``) and name the first line that fits neither.
When the model finds nothing, the parser's own message stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A line that opens a block: `key:` or `- key:` with nothing after the colon
# (a comment aside), or a `- ` on its own.
_OPENS_BLOCK = re.compile(r"^\s*(?:-\s+)?(?:[^\s#'\"][^#]*?|\"[^\"]*\"|'[^']*'):\s*(?:#.*)?$|^\s*-\s*$")
# A line that starts a block scalar (`key: >-`, `key: |`): the lines after it
# that are indented further are text, not structure.
_BLOCK_SCALAR = re.compile(r":\s*[>|][-+0-9]*\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*(?:-\s+)?([^\s:#][^:#]*?):(?:\s|$)")


@dataclass(frozen=True)
class IndentationMistake:
    line: int  # 1-based
    column: int  # 1-based: where the line's text starts
    message: str
    hint: str


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content_lines(lines: list[str], last: int) -> list[int]:
    """0-based indices of structural lines up to ``last``: no blanks, comments or block-scalar text."""
    result = []
    scalar_indent: int | None = None  # inside a block scalar: lines indented beyond this are text
    for index in range(min(last + 1, len(lines))):
        text = lines[index]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if scalar_indent is not None:
            if _indent(text) > scalar_indent:
                continue
            scalar_indent = None
        result.append(index)
        if _BLOCK_SCALAR.search(text):
            scalar_indent = _indent(text)
    return result


def _levels_of(text: str, index: int) -> list[_Level]:
    """The columns a line sets: ``- key:`` at 2 is an item (2) and a mapping's keys (4)."""
    indent = _indent(text)
    rest = text[indent:]
    levels = []
    while rest.startswith("- ") or rest == "-":
        levels.append(_Level(indent, index, item=True))
        after = len(rest) - len(rest[1:].lstrip(" "))
        if after >= len(rest):
            return levels
        indent += after
        rest = rest[after:]
    levels.append(_Level(indent, index, item=False))
    return levels


@dataclass(frozen=True)
class _Level:
    column: int
    line: int  # 0-based line that set it
    item: bool  # the column of a `- ` (True) or of a mapping key (False)


def _spaces(count: int) -> str:
    return {0: "no spaces", 1: "1 space"}.get(count, f"{count} spaces")


def _key_name(text: str) -> str:
    match = _KEY.match(text)
    return f"'{match.group(1)}:'" if match else "the line"


def explain(text: str, mark_line: int) -> IndentationMistake | None:
    """The first mis-indented line at or just before ``mark_line`` (0-based), if the model finds one."""
    lines = text.splitlines()
    content = _content_lines(lines, mark_line)
    stack: list[_Level] = []
    previous: int | None = None
    for index in content:
        line = lines[index]
        indent = _indent(line)
        if "\t" in line[:indent + 1]:
            return None  # tabs have their own message
        item = line[indent:].startswith("- ") or line[indent:] == "-"
        mistake = _check(lines, stack, previous, index, indent, item) if previous is not None else None
        if mistake is not None:
            # Only a mistake right where the parser stopped is the cause; an earlier
            # oddity it accepted (a multi-line plain value) means the model is lost.
            return mistake if index >= mark_line - 2 else None
        # A sibling replaces the levels at its column and deeper; an item at the
        # column of the `key:` that opens its list (`steps:` / `- resource:`) keeps it.
        while stack and (stack[-1].column > indent or (stack[-1].column == indent and stack[-1].item == item)
                         or (stack[-1].column == indent and not item)):
            stack.pop()
        stack.extend(_levels_of(line, index))
        previous = index
    return None


def _check(lines: list[str], stack: list[_Level], previous: int, index: int, indent: int,
           item: bool) -> IndentationMistake | None:
    """Is line ``index`` a sibling of a line on the stack, or the first child of the line before it?"""
    deeper = [level for level in stack if level.column > indent]
    same = [level for level in stack if level.column == indent]
    outer = [level for level in stack if level.column < indent]
    opens = bool(_OPENS_BLOCK.match(lines[previous]))
    if same:
        if any(level.item == item for level in same):
            return None
        if item and opens:
            return None  # `steps:` then `- resource:` in the same column
        level = same[-1]
        if item:
            items = [lv for lv in stack if lv.item and lv.column < indent]
            expected = items[-1].column if items else max(indent - 2, 0)
            return _mistake(index, indent, level, lines,
                            f"starts a new list item at {_spaces(indent)}, the column of the keys of the entry "
                            f"that {_key_name(lines[level.line])} on line {level.line + 1} belongs to",
                            f"indent it by {_spaces(expected)} like the items before it, or remove the `- ` if "
                            "this is a field")
        keys = next((lv for lv in reversed(stack) if lv.line == level.line and not lv.item), None)
        expected = keys.column if keys is not None else indent + 2
        return _mistake(index, indent, level, lines,
                        f"is indented {_spaces(indent)}, like the `- ` that starts the entry on line "
                        f"{level.line + 1}, but does not start a new entry; the entry's fields are indented "
                        f"{_spaces(expected)}",
                        f"indent it by {_spaces(expected)} like the entry's other fields")
    if not deeper:
        if opens:
            return None  # the first line inside `key:`
        top = outer[-1] if outer else _Level(0, previous, item=False)
        return _mistake(index, indent, top, lines,
                        f"is indented {_spaces(indent)}, more than {_key_name(lines[top.line])} on line "
                        f"{top.line + 1} ({_spaces(top.column)}), so YAML reads it as part of the value above",
                        f"indent it by {_spaces(top.column)} like line {top.line + 1}; only the text lines of "
                        "a `>-` block are indented further")
    near = min((lv for lv in stack if lv.item == item) or stack,
               key=lambda lv: (abs(lv.column - indent), -lv.column), default=deeper[0])
    return _mistake(index, indent, near, lines,
                    f"is indented {_spaces(indent)}, which lines up with nothing above it: "
                    f"{_key_name(lines[near.line])} on line {near.line + 1} is indented {_spaces(near.column)}",
                    f"indent it by exactly {_spaces(near.column)}; the keys of one entry, and the `- ` of the "
                    "items of one list, must start in the same column")


def _mistake(index: int, indent: int, level: _Level, lines: list[str], what: str, hint: str) -> IndentationMistake:
    return IndentationMistake(index + 1, indent + 1, f"line {index + 1} {what}", hint)
