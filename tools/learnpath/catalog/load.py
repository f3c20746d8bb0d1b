"""Read a YAML catalog safely, keeping the line and column of every node.

PyYAML's ``safe_load`` loses positions, silently keeps the last of two
duplicate keys and expands aliases (the "billion laughs" bomb). So we read
the event stream instead and build plain Python values ourselves: one pass
gives the data, a location map keyed by path tuples such as
``("resources", 3, "url")``, and every refusal (duplicate key, anchor,
alias, unknown tag) at once. libyaml's parser is used when it is installed,
because it keeps marks and is several times faster than the pure-Python one.

The file is only ever read; nothing here writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from learnpath.catalog.problems import CatalogInvalid, CatalogUnreadable, Location, Problem
from learnpath.catalog.schema import find_mojibake

# A hand-curated catalog is a few hundred kilobytes; 5 MiB leaves room for
# ten thousand resources while refusing a runaway or wrong file early.
MAX_BYTES = 5 * 1024 * 1024

# Deep nesting has no use in a catalog and is how a hostile file exhausts
# the stack of whatever walks the data next.
MAX_DEPTH = 32

# Stop collecting after this many problems of one kind: a file with a stray
# character on every line should not print a million lines.
MAX_PROBLEMS_PER_KIND = 50

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Key = tuple[Any, ...]  # a path into the data: ("resources", 3, "url")
Pos = tuple[int, int]  # 1-based (line, column)

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# Explicit tags we construct; anything else (!!python/..., !!binary, !!set,
# custom tags) is refused rather than guessed at.
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)


@dataclass
class YamlDocument:
    """Plain data read from a YAML file, plus where each node came from."""

    path: Path
    data: Any
    # path tuple -> (line, column) of the value node at that path
    positions: dict[Key, Pos] = field(default_factory=dict)
    # path tuple -> (line, column) of the mapping key that introduced it
    key_positions: dict[Key, Pos] = field(default_factory=dict)

    def location(self, *keys: Any, key: bool = False) -> Location:
        """Location of the node at ``keys``, or of its nearest recorded ancestor.

        With ``key=True`` the position of the mapping key is preferred (an
        unknown field is best shown at its name, not at its value).
        """
        path = tuple(keys)
        while True:
            if key and path in self.key_positions:
                line, column = self.key_positions[path]
                return Location(str(self.path), line, column)
            if path in self.positions:
                line, column = self.positions[path]
                return Location(str(self.path), line, column)
            if not path:
                return Location(str(self.path), 1, 1)
            path = path[:-1]


def load_yaml(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Read ``path`` as one YAML mapping with positions.

    Raises ``CatalogUnreadable`` when the file cannot be read at all (missing,
    a directory, no permission) and ``CatalogInvalid`` listing every problem
    found in its bytes, encoding or YAML structure.
    """
    file = Path(path)
    text = _read_text(file, max_bytes)
    problems = _mojibake_problems(file, text)
    builder = _Builder(file)
    builder.build(text)
    problems += builder.problems
    if problems:
        raise CatalogInvalid(problems)
    return YamlDocument(file, builder.root, builder.positions, builder.key_positions)


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
                hint="check that this is the right file; a catalog of 10,000 resources is about 4 MB",
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
        )]) from None
    # A byte-order mark is legal UTF-8 but invisible; YAML ignores it anyway.
    return text[1:] if text.startswith("\ufeff") else text


def _line_col(raw: bytes, offset: int) -> Pos:
    """1-based line and column (in characters) of byte ``offset``."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    prefix = raw[line_start:offset].decode("utf-8", errors="replace")
    return raw.count(b"\n", 0, offset) + 1, len(prefix) + 1


def _mojibake_problems(file: Path, text: str) -> list[Problem]:
    """One problem per line that shows UTF-8 mis-decoded as Latin-1."""
    if find_mojibake(text) is None:  # the common case: one regex pass
        return []
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = find_mojibake(line)
        if match is None:
            continue
        if len(problems) == MAX_PROBLEMS_PER_KIND:
            break
        problems.append(Problem(
            Location(str(file), number, match.start() + 1),
            f"{match.group(0)!r} looks like mojibake (UTF-8 text decoded as Latin-1 or cp1252)",
            hint="retype the character: 'â€”' was an em dash '—', 'â€™' an apostrophe '’', 'Ã©' an 'é'",
        ))
    return problems


# --------------------------------------------------------------------------- #
# Events -> plain values with positions
# --------------------------------------------------------------------------- #


class _Frame:
    """A collection under construction, and for a mapping the key awaiting its value."""

    __slots__ = ("path", "value", "is_map", "key", "key_lines")

    def __init__(self, path: Key, value: Any):
        self.path = path
        self.value = value
        self.is_map = isinstance(value, dict)
        self.key: Any = _NO_KEY
        self.key_lines: dict[Any, int] = {}  # key -> line, for duplicate-key messages


_NO_KEY = object()  # the mapping expects a key next
_DISCARD = object()  # the value that follows belongs to a refused key: drop it

_REFUSED_HINT = ("anchors and aliases are refused (they can expand into huge documents); "
                 "write the value out in full")
_TAG_HINT = "remove the tag; plain YAML values are enough for a catalog"


class _Builder:
    """Turns a YAML event stream into values, positions and problems."""

    def __init__(self, file: Path):
        self.file = str(file)
        self.root: Any = None
        self.positions: dict[Key, Pos] = {}
        self.key_positions: dict[Key, Pos] = {}
        self.problems: list[Problem] = []
        self._counts: dict[str, int] = {}
        self._resolve = yaml.resolver.Resolver().resolve
        self._constructor = yaml.constructor.SafeConstructor()
        self._documents = 0

    def problem(self, kind: str, mark: Any, message: str, hint: str | None = None) -> None:
        count = self._counts.get(kind, 0)
        self._counts[kind] = count + 1
        if count < MAX_PROBLEMS_PER_KIND:
            self.problems.append(Problem(self._loc(mark), message, hint=hint))

    def _loc(self, mark: Any) -> Location:
        if mark is None:
            return Location(self.file, 1, 1)
        return Location(self.file, mark.line + 1, mark.column + 1)

    def build(self, text: str) -> None:
        loader = Loader(text)
        try:
            self._consume(loader)
        except yaml.MarkedYAMLError as exc:
            self.problems.append(self._syntax_problem(exc))
        except yaml.YAMLError as exc:  # e.g. a reader error without a mark
            self.problems.append(Problem(Location(self.file, 1, 1), f"invalid YAML: {exc}"))
        finally:
            loader.dispose()
        if not self.problems and self._documents == 0:
            self.problems.append(Problem(
                Location(self.file, 1, 1), "the file is empty; a catalog is a YAML mapping",
                hint="start from an example: schema_version: 1, then topics, resources and paths",
            ))

    def _syntax_problem(self, exc: yaml.MarkedYAMLError) -> Problem:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{what} ({exc.context}"
            if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
                what += f" at line {exc.context_mark.line + 1}"
            what += ")"
        return Problem(
            self._loc(mark), f"invalid YAML: {what}",
            hint="check the indentation and quoting here and on the line before; "
                 "quote a value that contains ': ' or ' #' or starts with a special character",
        )

    def _consume(self, loader: Any) -> None:
        stack: list[_Frame] = []
        skip = 0  # >0 while inside a subtree nested too deeply: events are dropped
        while loader.check_event():
            event = loader.get_event()
            cls = type(event)
            if cls is ScalarEvent:
                if skip:
                    continue
                if event.anchor is not None:
                    self.problem("anchor", event.start_mark, f"anchor '&{event.anchor}' is not allowed",
                                 hint=_REFUSED_HINT)
                if stack and stack[-1].key is _NO_KEY and stack[-1].is_map:
                    # Keys stay text as written: `yes:` or `1:` is a misspelt field, not a bool.
                    self._take_key(stack[-1], event.value, event.start_mark, True)
                else:
                    self._node(stack, self._scalar(event), event.start_mark, True)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                if skip or len(stack) >= MAX_DEPTH:
                    if not skip:
                        self.problem("depth", event.start_mark, f"nested more than {MAX_DEPTH} levels deep",
                                     hint="a catalog needs only a few levels; check the indentation")
                    skip += 1
                    continue
                if event.anchor is not None:
                    self.problem("anchor", event.start_mark, f"anchor '&{event.anchor}' is not allowed",
                                 hint=_REFUSED_HINT)
                is_map = cls is MappingStartEvent
                tag = event.tag
                if tag is not None and tag != "!" and tag != (_MAP if is_map else _SEQ):
                    self.problem("tag", event.start_mark, f"the tag '{tag}' is not allowed", hint=_TAG_HINT)
                value: Any = {} if is_map else []
                path = self._node(stack, value, event.start_mark, False)
                stack.append(_Frame(path, value))
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                if skip:
                    skip -= 1
                else:
                    stack.pop()
            elif cls is AliasEvent:
                if skip:
                    continue
                self.problem("alias", event.start_mark, f"alias '*{event.anchor}' is not allowed",
                             hint=_REFUSED_HINT)
                self._node(stack, None, event.start_mark, True)
            elif cls is DocumentStartEvent:
                self._documents += 1
                if self._documents == 2:
                    self.problem("document", event.start_mark, "a second YAML document is not allowed",
                                 hint="a catalog is one document; remove the '---' line and merge the parts")

    def _node(self, stack: list[_Frame], value: Any, mark: Any, scalar: bool) -> Key:
        """Put a node where it belongs and record its position; return its path.

        A node read while its mapping expects a key becomes that key.
        """
        pos = (mark.line + 1, mark.column + 1)
        if not stack:
            if self._documents > 1:  # already reported; keep the first document
                return ("<extra document>",)
            self.root = value
            self.positions[()] = pos
            return ()
        parent = stack[-1]
        if parent.is_map:
            key = parent.key
            if key is _NO_KEY:  # a list, mapping or alias used as a key
                self._take_key(parent, value, mark, scalar)
                return parent.path + ("<key>",)
            parent.key = _NO_KEY
            if key is _DISCARD:
                return parent.path + ("<discarded>",)
            path = parent.path + (key,)
            parent.value[key] = value
        else:
            path = parent.path + (len(parent.value),)
            parent.value.append(value)
        self.positions[path] = pos
        return path

    def _take_key(self, parent: _Frame, key: Any, mark: Any, scalar: bool) -> None:
        if not scalar or not isinstance(key, str):
            if not scalar:
                self.problem("key", mark, "a mapping key must be a plain word, not a list or mapping",
                             hint="use a simple word as the key")
            parent.key = _DISCARD
            return
        pos = (mark.line + 1, mark.column + 1)
        first = parent.key_lines.get(key)
        if first is not None:
            self.problem("duplicate", mark,
                         f"duplicate key '{key}' (first on line {first}, again on line {pos[0]})",
                         hint="YAML would silently keep only the last value; remove or merge one of them")
            parent.key = _DISCARD  # keep the first value and its positions
            return
        parent.key_lines[key] = pos[0]
        parent.key = key
        self.key_positions[parent.path + (key,)] = pos

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
        if tag not in _SCALAR_TAGS:
            self.problem("tag", event.start_mark, f"the tag '{tag}' is not allowed", hint=_TAG_HINT)
            return value
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return self._constructor.yaml_constructors[tag](self._constructor, node)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError) as exc:
            kind = tag.rsplit(":", 1)[-1]
            self.problem("scalar", event.start_mark, f"{value!r} cannot be read as a {kind}: {exc}",
                         hint="quote it to keep it as text, or correct it")
            return value
