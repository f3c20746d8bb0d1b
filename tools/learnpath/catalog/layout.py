"""The catalog's one canonical layout: how every value of ``resources.yaml`` is written.

``render(document)`` writes a whole catalog; ``render_record`` writes one entry
(``learnpath add`` and ``learnpath import`` use it, so a new entry looks
exactly as ``learnpath fmt`` would leave it). The rules, chosen so that the
catalog as it was hand-written changes least:

- keys in the order of the schema's fields (``schema.py``); keys the schema
  does not know keep their order, after the known ones;
- two spaces per level; a list's ``- `` two spaces in from its key;
- prose fields (one to three sentences: ``description``, ``summary``, ``goal``,
  ``why``, ``answer``) as ``>-`` folded text, wrapped greedily so that no line
  is longer than ``LINE_WIDTH`` characters (a word longer than that stands
  alone);
- lists of ids and names as ``[a, b]`` when the line fits in ``LINE_WIDTH``,
  else one ``- item`` per line; lists of URLs always one per line;
- a string plain when YAML reads it back as the same string, else in double
  quotes; numbers, booleans and dates as YAML writes them;
- every comment kept: a comment line stays (with its own indentation) before
  the key or item it preceded, an end-of-line comment on its key's line;
  runs of blank lines become one.

The output depends only on the data and the comments, so formatting twice
gives the same text (``tests/catalog/test_fmt.py`` checks it with
hypothesis). Reading stays with the strict loader (``load.py``): this module
only writes.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel

from learnpath.catalog.errors import model_inside
from learnpath.catalog.load import Key, YamlDocument
from learnpath.catalog.schema import Catalog, Prose, WebUrl

LINE_WIDTH = 78  # the width the hand-written catalog was wrapped at (most of its prose lines fit in 78)
INDENT = 2

# --------------------------------------------------------------------------- #
# What each field is, from the schema
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Shape:
    """How one field is written: its model (for records), and its style."""

    style: str  # "prose", "scalar", "flow-list", "block-list", "record", "records"
    model: type[BaseModel] | None = None


def _shape(hint: Any) -> Shape:
    model = model_inside(hint)
    origin = typing.get_origin(hint)
    if origin is list:
        if model is not None:
            return Shape("records", model)
        return Shape("block-list" if typing.get_args(hint)[0] == WebUrl else "flow-list")
    if model is not None:
        return Shape("record", model)
    if hint == Prose or Prose in typing.get_args(hint):
        return Shape("prose")
    return Shape("scalar")


_SHAPES: dict[type[BaseModel], dict[str, Shape]] = {}


def shapes(model: type[BaseModel]) -> dict[str, Shape]:
    """Field name -> Shape, in the schema's order."""
    if model not in _SHAPES:
        hints = typing.get_type_hints(model, include_extras=True)
        _SHAPES[model] = {name: _shape(hints[name]) for name in model.model_fields}
    return _SHAPES[model]


# --------------------------------------------------------------------------- #
# Scalars
# --------------------------------------------------------------------------- #

_RESOLVE = yaml.resolver.Resolver().resolve
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
# Characters YAML cannot carry in a plain or folded scalar (and that JSON's
# escaping leaves raw): written as \uXXXX inside double quotes.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def plain_ok(text: str, *, flow: bool = False) -> bool:
    """True when ``text`` can be written unquoted and reads back as the same string."""
    if not text or text != text.strip() or "\n" in text or "\t" in text or _NEEDS_ESCAPE.search(text):
        return False
    if text[0] in _INDICATORS and not (text[0] == "-" and len(text) > 1 and text[1] != " "):
        return False
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(char in text for char in ",[]{}?:#"):
        return False
    if _RESOLVE(yaml.ScalarNode, text, (True, False)) != _STR_TAG:
        return False
    # The last word goes to the parser itself: plain scalars have corners no rule list covers.
    sample = f"k: [{text}]" if flow else f"k: {text}"
    try:
        return yaml.load(sample, Loader=_LOADER) == {"k": [text] if flow else text}
    except yaml.YAMLError:
        return False


def quoted(text: str) -> str:
    """``text`` in YAML double quotes (JSON's escaping, plus what YAML needs beyond it)."""
    return _NEEDS_ESCAPE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(text, ensure_ascii=False))


def scalar(value: Any, *, flow: bool = False) -> str:
    """One scalar as the canonical layout writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value)
    return text if plain_ok(text, flow=flow) else quoted(text)


def fold(text: str, width: int) -> list[str] | None:
    """``text`` as the lines of a ``>-`` block at most ``width`` wide, or None if folding would change it.

    Folding joins lines with one space, so it is exact only when every break
    falls on a single space between two words.
    """
    if not text or text != text.strip() or "\n" in text or "\t" in text or "  " in text or _NEEDS_ESCAPE.search(text):
        return None
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


# --------------------------------------------------------------------------- #
# Comments, by the line they stood before
# --------------------------------------------------------------------------- #

@dataclass
class Comments:
    """The comments and blank lines of a file, keyed by the structural line (1-based) they precede."""

    leading: dict[int, list[str]] = field(default_factory=dict)
    end_of_line: dict[int, str] = field(default_factory=dict)
    trailing: list[str] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    def take(self, line: int) -> tuple[list[str], str | None]:
        """The lines before ``line`` and its end-of-line comment, once (a second take gets nothing)."""
        if line in self.used:
            return [], None
        self.used.add(line)
        return self.leading.get(line, []), self.end_of_line.get(line)

    def rest(self) -> list[str]:
        """Comments of lines that no longer exist (a key dropped), then the file's trailing ones."""
        left = [text for line, block in sorted(self.leading.items()) if line not in self.used
                for text in block if text]
        left += [text for line, text in sorted(self.end_of_line.items()) if line not in self.used]
        return left + self.trailing


def _token_spans(text: str, line_count: int) -> tuple[list[list[tuple[int, int]]], set[int]]:
    """Per 0-based line, the column ranges that YAML tokens cover; and the lines where a token starts.

    A comment is exactly the text outside every token that starts with ``#``,
    so asking the scanner (rather than guessing at quotes) finds them all,
    including around multi-line quoted and flow values.
    """
    covered: list[list[tuple[int, int]]] = [[] for _ in range(line_count + 1)]
    starts: set[int] = set()
    lines = text.splitlines()
    for token in yaml.scan(text, Loader=_LOADER):
        begin, end = token.start_mark, token.end_mark
        if begin.index == end.index:
            continue
        end_line, end_column = end.line, end.column
        if isinstance(token, yaml.ScalarToken) and token.style in (">", "|"):
            # A block scalar's span runs over its trailing blank lines: end it at its last text.
            if end_column == 0 or end_line >= len(lines):
                end_line -= 1
            while end_line > begin.line and not lines[end_line].strip():
                end_line -= 1
            end_column = len(lines[end_line])
        starts.add(begin.line)
        for number in range(begin.line, min(end_line, line_count) + 1):
            first = begin.column if number == begin.line else 0
            last = end_column if number == end_line else 1 << 30
            covered[number].append((first, last))
    return covered, starts


def _comment_at(line: str, covered: list[tuple[int, int]]) -> int | None:
    """Column where ``line``'s comment starts, outside every token, or None."""
    for column, char in enumerate(line):
        if char == "#" and (column == 0 or line[column - 1] in " \t") and \
                not any(first <= column < last for first, last in covered):
            return column
    return None


def scan_comments(text: str) -> Comments:
    """Every comment and blank line of ``text``, attached to the structural line that follows it."""
    comments = Comments()
    lines = text.splitlines()
    covered, starts = _token_spans(text, len(lines))
    pending: list[str] = []  # comment lines and blanks ("") waiting for their line
    for index, raw in enumerate(lines):
        number = index + 1
        column = _comment_at(raw, covered[index])
        if not covered[index]:
            if column is not None:
                pending.append(raw.rstrip())
            elif pending[-1:] != [""]:
                pending.append("")
            continue
        if index in starts:
            if pending:
                comments.leading[number] = pending
                pending = []
            if column is not None:
                comments.end_of_line[number] = raw[column:].rstrip()
        elif column is not None:
            # After the continuation of a multi-line value: keep it as a line before what follows.
            pending.append(" " * (len(raw) - len(raw.lstrip())) + raw[column:].rstrip())
    while pending and pending[-1] == "":
        pending.pop()
    comments.trailing = pending
    return comments


def comment_lines(text: str) -> list[str]:
    """Every comment in ``text`` (full-line and end-of-line), stripped and sorted: what fmt must keep."""
    comments = scan_comments(text)
    found = [text.strip() for block in comments.leading.values() for text in block if text]
    found += list(comments.end_of_line.values()) + [text.strip() for text in comments.trailing if text]
    return sorted(found)


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


class _Writer:
    """Appends the canonical lines of a document, with its comments where they belong."""

    def __init__(self, document: YamlDocument | None, comments: Comments | None):
        self.document = document
        self.comments = comments or Comments()
        self.lines: list[str] = []

    # -- where a node was ------------------------------------------------------

    def _line_of(self, keys: Key, *, key: bool = False) -> int | None:
        if self.document is None:
            return None
        return self.document.location(*keys, key=key).line

    def _open(self, keys: Key | None, text: str, *, key: bool = False) -> None:
        """Write ``text`` as a new line, after the comments that preceded ``keys``'s line."""
        leading, eol = ([], None)
        if keys is not None:
            line = self._line_of(keys, key=key)
            if line is not None:
                leading, eol = self.comments.take(line)
        for comment in leading:
            if comment or (self.lines and self.lines[-1] != ""):
                self.lines.append(comment)
        self.lines.append(f"{text}  {eol}" if eol else text)

    # -- values ------------------------------------------------------------------

    def mapping(self, data: dict[str, Any], model: type[BaseModel] | None, indent: int, keys: Key,
                first_prefix: str | None = None) -> None:
        """The fields of one record; ``first_prefix`` (``"  - "``) goes before the first line."""
        known = shapes(model) if model is not None else {}
        order = [name for name in known if name in data] + [name for name in data if name not in known]
        for position, name in enumerate(order):
            prefix = first_prefix if position == 0 and first_prefix is not None else " " * indent
            self.entry(name, data[name], known.get(name) or _guess(data[name]), indent, keys + (name,), prefix)

    def entry(self, name: str, value: Any, shape: Shape, indent: int, keys: Key, prefix: str) -> None:
        head = f"{prefix}{scalar(name)}:"
        if shape.style == "prose" and isinstance(value, str):
            lines = fold(value, LINE_WIDTH - indent - INDENT)
            if lines is not None:
                self._open(keys, f"{head} >-", key=True)
                self.lines += [" " * (indent + INDENT) + line for line in lines]
                return
        if isinstance(value, list) and shape.style in ("flow-list", "block-list", "records", "scalar", "prose"):
            self.sequence(head, value, shape, indent, keys)
            return
        if isinstance(value, dict):
            if not value:
                self._open(keys, f"{head} {{}}", key=True)
                return
            self._open(keys, head, key=True)
            self.mapping(value, shape.model, indent + INDENT, keys)
            return
        self._open(keys, f"{head} {scalar(value)}", key=True)

    def sequence(self, head: str, items: list[Any], shape: Shape, indent: int, keys: Key) -> None:
        if not items:
            self._open(keys, f"{head} []", key=True)
            return
        if shape.style != "block-list" and all(not isinstance(item, (list, dict)) for item in items):
            flow = f"{head} [{', '.join(scalar(item, flow=True) for item in items)}]"
            if len(flow) <= LINE_WIDTH:
                self._open(keys, flow, key=True)
                return
        self._open(keys, head, key=True)
        dash = " " * (indent + INDENT) + "- "
        for index, item in enumerate(items):
            item_keys = keys + (index,)
            if isinstance(item, dict) and item:
                self.record(item, shape.model, indent + INDENT, item_keys)
            elif isinstance(item, (dict, list)):
                # Not in any catalog the schema accepts: JSON is YAML's flow style, and the
                # check after formatting refuses the result if it does not read back the same.
                self._open(item_keys, dash + json.dumps(item, ensure_ascii=False, default=str))
            else:
                self._open(item_keys, f"{dash}{scalar(item)}")

    def record(self, data: dict[str, Any], model: type[BaseModel] | None, dash_indent: int, keys: Key) -> None:
        """One record in a list: ``- first: ...`` then its other fields two columns in."""
        line = self._line_of(keys)
        if line is not None and line not in self.comments.used:
            # The record starts on its first key's line: that line's comments belong
            # before the `- `, whichever key now comes first.
            for comment in self.comments.leading.pop(line, []):
                if comment or (self.lines and self.lines[-1] != ""):
                    self.lines.append(comment)
        self.mapping(data, model, dash_indent + INDENT, keys, first_prefix=" " * dash_indent + "- ")


def _guess(value: Any) -> Shape:
    """The shape of a value the schema does not describe (an unknown key)."""
    if isinstance(value, list):
        return Shape("records" if any(isinstance(item, dict) for item in value) else "block-list")
    if isinstance(value, dict):
        return Shape("record")
    return Shape("scalar")


def render(document: YamlDocument) -> str:
    """The whole catalog in its canonical layout, comments kept."""
    writer = _Writer(document, scan_comments(document.text))
    data = document.data
    if isinstance(data, dict):
        writer.mapping(data, Catalog, 0, ())
    writer.lines += writer.comments.rest()
    while writer.lines and writer.lines[-1] == "":
        writer.lines.pop()
    return "\n".join(writer.lines) + "\n"


def render_record(data: dict[str, Any], model: type[BaseModel], dash_indent: int) -> list[str]:
    """One new record (``- id: ...``) as the lines the canonical layout gives it in a list."""
    writer = _Writer(None, None)
    writer.record(data, model, dash_indent, ())
    return writer.lines


def walk_records(data: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in ``data``, depth first (for tests and checks)."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from walk_records(value)
    elif isinstance(data, list):
        for item in data:
            yield from walk_records(item)
