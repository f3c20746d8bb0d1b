"""Add an entry at the end of a list in the catalog's text, touching nothing else.

``learnpath add`` and ``learnpath import --write`` change a catalog by
inserting whole lines (written by ``layout.render_record``) after the last
item of a list: ``resources``, or one stage's ``steps``. Every other byte of
the file stays as it was, comments and layout included, and a comment block
that introduced what follows the list (``# Paths ...`` before ``paths:``)
stays with it. The positions come from the strict loader's offsets, so
nothing is re-parsed by a second YAML library.
"""

from __future__ import annotations

from typing import Any

from learnpath.catalog.layout import scan_comments
from learnpath.catalog.load import Key, YamlDocument, _Shadow


class CannotInsert(Exception):
    """The list is not written in a form we can append to; the message says what to do."""


def _offsets(entry: Any, path: Key, out: list[tuple[int, Key]]) -> None:
    """(offset, path) of every node and key under ``entry``."""
    if not isinstance(entry, _Shadow):
        out.append((entry, path))
        return
    out.append((entry.offset, path))
    if entry.keys is not None:
        out.extend((offset, path + (name,)) for name, offset in entry.keys.items())
    children = entry.children.items() if isinstance(entry.children, dict) else enumerate(entry.children)
    for name, child in children:
        _offsets(child, path + (name,), out)


def _list_shadow(document: YamlDocument, keys: Key) -> _Shadow:
    entry: Any = document.shadow
    for name in keys:
        if not isinstance(entry, _Shadow):
            break
        children = entry.children
        entry = children.get(name) if isinstance(children, dict) else (
            children[name] if isinstance(name, int) and 0 <= name < len(children) else None)
    if not isinstance(entry, _Shadow) or entry.keys is not None:
        raise CannotInsert(f"there is no list at {'.'.join(map(str, keys))} to add to")
    if document.text[entry.offset:entry.offset + 1] == "[" or not entry.children:
        raise CannotInsert(f"`{keys[-1]}` is written as a [flow] list; run `learnpath fmt` first so that it is "
                           "one item per line")
    return entry


def item_indent(document: YamlDocument, keys: Key) -> int:
    """The column (0-based) of the ``- `` of the items of the list at ``keys``."""
    shadow = _list_shadow(document, keys)
    first = shadow.children[0]
    offset = first if isinstance(first, int) else first.offset
    location = document.location_of_offset(offset)
    line = document.text.splitlines()[location.line - 1]
    dash = line.rfind("- ", 0, location.column)
    if dash < 0:
        raise CannotInsert(f"cannot tell how the items of `{keys[-1]}` are indented; run `learnpath fmt` first")
    return dash


def append_lines(document: YamlDocument, keys: Key, new_lines: list[str]) -> str:
    """The document's text with ``new_lines`` inserted after the last item of the list at ``keys``."""
    shadow = _list_shadow(document, keys)
    last = shadow.children[-1]
    last_start = last if isinstance(last, int) else last.offset
    everything: list[tuple[int, Key]] = []
    _offsets(document.shadow, (), everything)
    after = [offset for offset, path in everything if offset > last_start and path[:len(keys)] != keys]
    lines = document.text.splitlines()
    comments = scan_comments(document.text)
    if after:
        next_line = document.location_of_offset(min(after)).line  # 1-based
        at = next_line - 1 - len(comments.leading.get(next_line, []))
    else:  # the list ends the file: insert before the comments and blank lines that close it
        at = len(lines)
        while at > 0 and (not lines[at - 1].strip() or lines[at - 1].lstrip().startswith("#")):
            at -= 1
    result = lines[:at] + new_lines + lines[at:]
    return "\n".join(result) + "\n"
