"""Read a YAML catalog safely, keeping the line and column of every node.

PyYAML's ``safe_load`` loses positions, silently keeps the last of two
duplicate keys and expands aliases (the "billion laughs" bomb). So we read
the event stream instead and build plain Python values ourselves: one pass
gives the data, the offset of every node (looked up by path, such as
``("resources", 3, "url")``), and every refusal (duplicate key, anchor,
alias, unknown tag) at once. libyaml's parser is used when it is installed,
because it keeps marks and is several times faster than the pure-Python one.

The file is only ever read; nothing here writes.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from collections import Counter

from learnpath.catalog.indentation import explain as explain_indentation
from learnpath.catalog.problems import CatalogInvalid, CatalogUnreadable, Location, Problem
from learnpath.catalog.rules import Rule
from learnpath.catalog.schema import find_mojibake

# A hand-curated catalog is a few hundred kilobytes and a resource about
# 600 bytes; 16 MiB leaves room for over 20,000 resources while refusing a
# runaway or wrong file before reading it.
MAX_BYTES = 16 * 1024 * 1024

# Deep nesting has no use in a catalog and is how a hostile file exhausts
# the stack of whatever walks the data next.
MAX_DEPTH = 32

# Stop collecting after this many problems of one kind: a file with a stray
# character on every line should not print a million lines.
MAX_PROBLEMS_PER_KIND = 50

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Key = tuple[Any, ...]  # a path into the data: ("resources", 3, "url")

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_TRUE = frozenset({"yes", "on"})
_YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off"})
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# Explicit tags we construct; anything else (!!python/..., !!binary, !!set,
# custom tags) is refused rather than guessed at.
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)


# Where nodes are: a "shadow" of the data with the same shape. A scalar's
# entry is its character offset in the text; a collection's entry is a
# _Shadow. Offsets become line and column only when someone asks (bisect on
# the line starts), so loading pays one int per node, not a tuple and a
# path-tuple key.
Entry = Union[int, "_Shadow"]


class _Shadow:
    """Offsets of a collection, its children and (for a mapping) its keys."""

    __slots__ = ("offset", "children", "keys")

    def __init__(self, offset: int, children: dict[Any, Entry] | list[Entry], keys: dict[Any, int] | None):
        self.offset = offset
        self.children = children
        self.keys = keys


# YAML 1.1 line breaks, as libyaml and PyYAML count lines.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


@dataclass
class YamlDocument:
    """Plain data read from a YAML file, plus where each node came from."""

    path: Path
    data: Any
    text: str = field(repr=False, default="")
    shadow: Entry = field(repr=False, default=0)
    _line_starts: list[int] | None = field(default=None, init=False, repr=False)

    def location(self, *keys: Any, key: bool = False) -> Location:
        """Location of the node at ``keys``, or of its nearest recorded ancestor.

        With ``key=True`` the position of the mapping key is preferred (an
        unknown field is best shown at its name, not at its value).
        """
        return self.location_of_offset(self.offset(*keys, key=key))

    def offset(self, *keys: Any, key: bool = False) -> int:
        """Character offset of the node at ``keys`` (see ``location``)."""
        entry = self.shadow
        offset = entry if isinstance(entry, int) else entry.offset
        last = len(keys) - 1
        for depth, name in enumerate(keys):
            if not isinstance(entry, _Shadow):
                break
            if key and depth == last and entry.keys is not None and name in entry.keys:
                return entry.keys[name]
            children = entry.children
            if isinstance(children, dict):
                if name not in children:
                    break
                entry = children[name]
            elif isinstance(name, int) and 0 <= name < len(children):
                entry = children[name]
            else:
                break
            offset = entry if isinstance(entry, int) else entry.offset
        return offset

    def location_of_offset(self, offset: int) -> Location:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in _LINE_BREAK.finditer(self.text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return Location(str(self.path), line, offset - self._line_starts[line - 1] + 1)


def load_yaml(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, text: str | None = None) -> YamlDocument:
    """Read ``path`` as one YAML mapping with positions.

    Raises ``CatalogUnreadable`` when the file cannot be read at all (missing,
    a directory, no permission) and ``CatalogInvalid`` listing every problem
    found in its bytes, encoding or YAML structure. With ``text``, that text is
    checked instead of the file's (a result about to be written), and
    ``path`` only names it in messages.
    """
    file = Path(path)
    document = YamlDocument(file, None, _read_text(file, max_bytes) if text is None else text)
    problems = _mojibake_problems(document)
    builder = _Builder(document)
    builder.build()
    problems += builder.problems
    if problems:
        raise CatalogInvalid(problems, omitted=builder.omitted)
    return document


# --------------------------------------------------------------------------- #
# Bytes and text
# --------------------------------------------------------------------------- #


def _read_text(file: Path, max_bytes: int) -> str:
    """The file's text, refusing a missing, huge or non-UTF-8 file."""
    try:
        size = file.stat().st_size
        if file.is_dir():
            raise IsADirectoryError(21, "is a directory")
        if size > max_bytes:
            raise CatalogInvalid([Problem(
                Location(str(file), 0, 0),
                f"is {size:,} bytes, over the {max_bytes:,}-byte limit for a catalog",
                hint="check that this is the right file; a catalog of 10,000 resources is about 6 MB",
                rule=Rule.TOO_LARGE,
            )])
        with file.open("rb") as handle:
            # Read at most one byte past the limit: the file may grow after stat().
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise CatalogUnreadable(file, exc.strerror or str(exc)) from None
    if len(raw) > max_bytes:
        raise CatalogInvalid([Problem(
            Location(str(file), 0, 0),
            f"is over the {max_bytes:,}-byte limit for a catalog",
            hint="check that this is the right file",
            rule=Rule.TOO_LARGE,
        )])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_col(raw, exc.start)
        bad = raw[exc.start:exc.start + 4]
        raise CatalogInvalid([Problem(
            Location(str(file), line, column),
            f"byte {bad[:1].hex(' ').upper()} at offset {exc.start} is not valid UTF-8",
            hint="save the file as UTF-8 (most editors: 'Save with encoding' -> UTF-8)",
            rule=Rule.NOT_UTF8,
        )]) from None
    # A byte-order mark is legal UTF-8 but invisible; YAML ignores it anyway.
    return text[1:] if text.startswith("\ufeff") else text


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    prefix = raw[line_start:offset].decode("utf-8", errors="replace")
    return raw.count(b"\n", 0, offset) + 1, len(prefix) + 1


def _mojibake_problems(document: YamlDocument) -> list[Problem]:
    """One problem per line that shows UTF-8 mis-decoded as Latin-1 (comments included)."""
    problems: list[Problem] = []
    match = find_mojibake(document.text)
    while match is not None and len(problems) < MAX_PROBLEMS_PER_KIND:
        location = document.location_of_offset(match.start())
        shown = match.group(0)
        if shown == "â€":  # the start of a three-character sequence: show all of it
            shown = document.text[match.start():match.end() + 1]
        problems.append(Problem(
            location,
            f"{shown!r} looks like mojibake (UTF-8 text decoded as Latin-1 or cp1252)",
            hint="retype the character: 'â€”' was an em dash '—', 'â€™' an apostrophe '’', 'Ã©' an 'é'",
            rule=Rule.MOJIBAKE,
        ))
        # Skip to the next line: one report per line is enough to find them all.
        next_line = _LINE_BREAK.search(document.text, match.end())
        match = find_mojibake(document.text, next_line.end()) if next_line else None
    return problems


# --------------------------------------------------------------------------- #
# Events -> plain values with positions
# --------------------------------------------------------------------------- #


_NO_KEY = object()  # the mapping expects a key next
_DISCARD = object()  # the value that follows belongs to a refused key: drop it
_MISSING = object()

_REFUSED_HINT = ("anchors and aliases are refused (they can expand into huge documents); "
                 "write the value out in full")
_TAG_HINT = "remove the tag; plain YAML values are enough for a catalog"

# A frame is a list, for speed: [value, children offsets, key offsets (None
# for a sequence), the key awaiting its value].
_VALUE, _CHILDREN, _KEYS, _PENDING = range(4)
# Plain scalars up to this length are resolved once and shared; longer ones
# (titles, descriptions) rarely repeat.
_SHARED_SCALAR_LENGTH = 40


class _Builder:
    """Turns a YAML event stream into values, offsets and problems.

    This loop runs once per event (about 45 per resource), so it is written
    for speed: locals instead of attributes, frames as lists, and each
    distinct plain scalar resolved once.
    """

    def __init__(self, document: YamlDocument):
        self.document = document
        self.problems: list[Problem] = []
        self._counts: Counter[Rule] = Counter()
        self.omitted: Counter[Rule] = Counter()  # problems past the cap, counted
        self._resolve = yaml.resolver.Resolver().resolve
        self._constructor = yaml.constructor.SafeConstructor()
        self._documents = 0
        self._aliases: set[str] = set()

    def problem(self, rule: Rule, mark: Any, message: str, hint: str | None = None) -> None:
        self._counts[rule] += 1
        if self._counts[rule] <= MAX_PROBLEMS_PER_KIND:
            self.problems.append(Problem(self._loc(mark), message, hint=hint, rule=rule))
        else:
            self.omitted[rule] += 1

    def _loc(self, mark: Any) -> Location:
        if mark is None:
            return Location(str(self.document.path), 1, 1)
        return Location(str(self.document.path), mark.line + 1, mark.column + 1)

    def build(self) -> None:
        loader = Loader(self.document.text)
        try:
            self._consume(loader)
        except yaml.MarkedYAMLError as exc:
            self.problems.append(self._syntax_problem(exc))
        except yaml.YAMLError as exc:  # e.g. a reader error without a mark
            self.problems.append(Problem(Location(str(self.document.path), 1, 1), f"invalid YAML: {exc}",
                                         rule=Rule.YAML_SYNTAX))
        finally:
            loader.dispose()
        if not self.problems and self._documents == 0:
            self.problems.append(Problem(
                Location(str(self.document.path), 1, 1), "the file is empty; a catalog is a YAML mapping",
                hint="start from an example: schema_version: 1, then topics, resources and paths",
                rule=Rule.EMPTY_FILE,
            ))

    def _syntax_problem(self, exc: yaml.MarkedYAMLError) -> Problem:
        mark = exc.problem_mark or exc.context_mark
        text = self.document.text
        if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
            return Problem(self._loc(mark), "a tab where YAML expects spaces",
                           hint="YAML indents with spaces, never tabs: replace the tab with spaces",
                           rule=Rule.INDENTATION)
        mistake = explain_indentation(text, mark.line) if mark is not None else None
        if mistake is not None:
            return Problem(Location(str(self.document.path), mistake.line, mistake.column), mistake.message,
                           hint=mistake.hint, rule=Rule.INDENTATION)
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{what} ({exc.context}"
            if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
                what += f" at line {exc.context_mark.line + 1}"
            what += ")"
        hint = ("check the indentation and quoting here and on the line before; "
                "quote a value that contains ': ' or ' #' or starts with a special character")
        return Problem(self._loc(mark), f"invalid YAML: {what}", hint=hint, rule=Rule.YAML_SYNTAX)

    def _consume(self, loader: Any) -> None:  # noqa: C901 - one flat loop is the fast form
        get_event = loader.get_event
        # Short plain scalars repeat (kinds, levels, booleans, dates, ids): resolve
        # each once and share the (immutable) value. Keys repeat in every
        # record: share one string per key name.
        resolved: dict[str, Any] = {}
        key_names: dict[str, str] = {}
        construct = self._scalar
        stack: list[list[Any]] = []
        frame: list[Any] = [None, None, None, None]  # a sentinel until the first collection
        skip = 0  # >0 inside a subtree nested too deeply: its events are dropped
        while (event := get_event()) is not None:
            cls = event.__class__
            if cls is ScalarEvent:
                if skip:
                    continue
                if event.anchor is not None:
                    self._anchor(event)
                keys = frame[_KEYS]
                if keys is not None:
                    key = frame[_PENDING]
                    if key is _NO_KEY:
                        # Keys stay text as written: `yes:` or `1:` is a misspelt field, not a bool.
                        text = key_names.setdefault(event.value, event.value)
                        if text in keys:
                            self._duplicate_key(frame, text, event)
                        else:
                            keys[text] = event.start_mark.index
                            frame[_PENDING] = text
                        continue
                if event.implicit[0] and event.tag is None and len(event.value) <= _SHARED_SCALAR_LENGTH:
                    value = resolved.get(event.value, _MISSING)
                    if value is _MISSING:
                        value = construct(event)
                        if event.value.lower() not in _YAML11_BOOLEANS:  # reported at every use
                            resolved[event.value] = value
                else:
                    value = construct(event)
                if keys is not None:  # the value of a mapping entry: the common case, inlined
                    frame[_PENDING] = _NO_KEY
                    if key is not _DISCARD:
                        frame[_VALUE][key] = value
                        frame[_CHILDREN][key] = event.start_mark.index
                else:
                    self._put(frame, value, event.start_mark.index)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                if skip or len(stack) >= MAX_DEPTH:
                    if not skip:
                        self.problem(Rule.TOO_DEEP, event.start_mark, f"nested more than {MAX_DEPTH} levels deep",
                                     hint="a catalog needs only a few levels; check the indentation")
                    skip += 1
                    continue
                if event.anchor is not None:
                    self._anchor(event)
                is_map = cls is MappingStartEvent
                if event.tag is not None and event.tag != "!" and event.tag != (_MAP if is_map else _SEQ):
                    self.problem(Rule.YAML_TAG, event.start_mark, f"the tag '{event.tag}' is not allowed", hint=_TAG_HINT)
                value = {} if is_map else []
                shadow = _Shadow(event.start_mark.index, {} if is_map else [], {} if is_map else None)
                if frame[_KEYS] is not None and frame[_PENDING] is _NO_KEY:
                    self.problem(Rule.COMPLEX_KEY, event.start_mark, "a mapping key must be a plain word, not a list or mapping",
                                 hint="use a simple word as the key")
                    frame[_PENDING] = _DISCARD  # this collection and its value are dropped
                else:
                    self._put(frame, value, shadow)
                frame = [value, shadow.children, shadow.keys, _NO_KEY]
                stack.append(frame)
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                if skip:
                    skip -= 1
                    continue
                stack.pop()
                frame = stack[-1] if stack else [None, None, None, None]
            elif cls is AliasEvent:
                if skip:
                    continue
                if event.anchor not in self._aliases:  # one report per name, not per use
                    self._aliases.add(event.anchor)
                    self.problem(Rule.ANCHOR_ALIAS, event.start_mark, f"alias '*{event.anchor}' is not allowed",
                                 hint=_REFUSED_HINT)
                if frame[_KEYS] is not None and frame[_PENDING] is _NO_KEY:
                    frame[_PENDING] = _DISCARD
                else:
                    self._put(frame, None, event.start_mark.index)
            elif cls is DocumentStartEvent:
                self._documents += 1
                if self._documents == 2:
                    self.problem(Rule.SEVERAL_DOCUMENTS, event.start_mark, "a second YAML document is not allowed",
                                 hint="a catalog is one document; remove the '---' line and merge the parts")

    def _put(self, frame: list[Any], value: Any, entry: Entry) -> None:
        """Attach a value (and its offset entry) to the collection being read."""
        if frame[_VALUE] is None:  # the top level
            if self._documents <= 1:  # a later document was reported; keep the first
                self.document.data = value
                self.document.shadow = entry
            return
        if frame[_KEYS] is None:
            frame[_VALUE].append(value)
            frame[_CHILDREN].append(entry)
            return
        key = frame[_PENDING]
        frame[_PENDING] = _NO_KEY
        if key is not _DISCARD:
            frame[_VALUE][key] = value
            frame[_CHILDREN][key] = entry

    def _duplicate_key(self, frame: list[Any], key: str, event: Any) -> None:
        first = self.document.location_of_offset(frame[_KEYS][key]).line
        self.problem(Rule.DUPLICATE_KEY, event.start_mark,
                     f"duplicate key '{key}' (first on line {first}, again on line {event.start_mark.line + 1})",
                     hint="YAML would silently keep only the last value; remove or merge one of them")
        frame[_PENDING] = _DISCARD  # keep the first value and its offsets

    def _anchor(self, event: Any) -> None:
        self.problem(Rule.ANCHOR_ALIAS, event.start_mark, f"anchor '&{event.anchor}' is not allowed", hint=_REFUSED_HINT)

    def _scalar(self, event: Any) -> Any:
        """Construct a scalar the way PyYAML's SafeLoader would."""
        value = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return value  # quoted, literal or folded: always text
            tag = self._resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR:
            return value
        if tag == _BOOL and value.lower() not in ("true", "false"):
            self.problem(Rule.YAML11_BOOLEAN, event.start_mark,
                         f"'{value}' is a YAML 1.1 spelling of {str(value.lower() in _TRUE).lower()}",
                         hint="write true or false: editors and YAML 1.2 readers take "
                              f"'{value}' as text, older ones as a boolean")
            return value
        if tag not in _SCALAR_TAGS:
            self.problem(Rule.YAML_TAG, event.start_mark, f"the tag '{tag}' is not allowed", hint=_TAG_HINT)
            return value
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return self._constructor.yaml_constructors[tag](self._constructor, node)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError):
            # Looks like a date or number but is not one (2026-13-01): keep the
            # text and let the schema say what the field expects.
            return value
