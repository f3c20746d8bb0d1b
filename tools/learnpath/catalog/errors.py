"""Pydantic's errors, retold for someone editing ``resources.yaml``.

Pydantic says ``Input should be 'article', 'video', ... [type=enum]`` at
``('resources', 12, 'kind')``. A contributor needs ``resources.yaml:14:11:
resources[12] (id: lstm-colah) field 'kind': 'blog' is not one of article,
video, ...`` and a hint. This module does that translation, and names a
place in the data (``where`` and ``field``) for the cross-reference checks too.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from learnpath.catalog.load import Key, YamlDocument
from learnpath.catalog.problems import Problem
from learnpath.catalog.rules import Rule
from learnpath.catalog.schema import PLACEHOLDER, Catalog, Kind

_MAX_SHOWN = 60  # characters of an offending value quoted in a message


def place(data: Any, loc: Key) -> tuple[str, str | None]:
    """``(where, field)`` for a path: the innermost record and what is inside it.

    A record is a mapping inside a list (a topic, resource, path, stage or
    step); it is named by its list and index, plus its id when it has one:
    ``paths[0] (id: weekend) stages[1] (id: attention)``, field ``goal``.
    """
    where: list[str] = []
    field = ""
    node = data
    previous = ""
    for key in loc:
        child = _child(node, key)
        if isinstance(key, int) and isinstance(child, dict):
            where.append(f"{previous}[{key}]{_label(child)}")
            field = ""
        elif isinstance(key, int):
            field += f"[{key}]"
        else:
            field += ("." if field else "") + str(key)
        previous = str(key)
        node = child
    return " ".join(where), field or None


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _label(record: dict[str, Any]) -> str:
    for name in ("id", "resource"):
        value = record.get(name)
        if isinstance(value, str) and value:
            return f" ({name}: {_shorten(value, 40)})"
    return ""


def describe_value(value: Any) -> str:
    """A value as a YAML author would name it: "the text 'x'", "a list", ..."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_shorten(value)!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, _dt.datetime):
        return f"the timestamp {value.isoformat()}"
    if isinstance(value, _dt.date):
        return f"the date {value.isoformat()}"
    return type(value).__name__


def _shorten(text: str, limit: int = _MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(value: Any) -> str:
    return repr(_shorten(value)) if isinstance(value, str) else describe_value(value)


# --------------------------------------------------------------------------- #
# Model introspection: which field does a loc point at?
# --------------------------------------------------------------------------- #


def model_inside(annotation: Any) -> type[BaseModel] | None:
    """The model a field's type holds (``list[Step]`` -> ``Step``, ``Prose | None`` -> None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = model_inside(arg)
        if found is not None:
            return found
    return None


def field_at(loc: Key) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model that owns the last field in ``loc``, and that field's info."""
    model: type[BaseModel] | None = Catalog
    owner: type[BaseModel] | None = None
    info: FieldInfo | None = None
    for key in loc:
        if isinstance(key, int):
            continue
        if model is None or key not in model.model_fields:
            return model, None
        owner, info = model, model.model_fields[key]
        model = model_inside(info.annotation)
    return owner, info


# --------------------------------------------------------------------------- #
# One pydantic error -> one Problem
# --------------------------------------------------------------------------- #

_EXPECTED = {
    "int_type": ("a whole number", "write a number without quotes, e.g. 45"),
    "int_from_float": ("a whole number", "round it to a whole number"),
    "int_parsing": ("a whole number", "write a number without quotes, e.g. 45"),
    "bool_type": ("true or false", "write true or false, without quotes"),
    "bool_parsing": ("true or false", "write true or false, without quotes"),
    "string_type": ("text", "quote the value to make it text, e.g. '2017'"),
    "list_type": ("a list", "write one `- item` per line, or [a, b] on one line"),
    "model_type": ("a mapping of fields", "indent the fields under it as `name: value` lines"),
    "model_attributes_type": ("a mapping of fields", "indent the fields under it as `name: value` lines"),
    "dict_type": ("a mapping of fields", "indent the fields under it as `name: value` lines"),
    "date_type": ("a date", "write it as YYYY-MM-DD, e.g. 2024-05-01"),
    "date_parsing": ("a date", "write it as YYYY-MM-DD, e.g. 2024-05-01"),
    "date_from_datetime_parsing": ("a date", "write it as YYYY-MM-DD, e.g. 2024-05-01"),
    "date_from_datetime_inexact": ("a date without a time", "write it as YYYY-MM-DD, e.g. 2024-05-01"),
}


# Pydantic's error types (and our validators' custom ones) -> the rule they break.
_RULES = {
    "missing": Rule.MISSING_FIELD, "extra_forbidden": Rule.UNKNOWN_FIELD, "enum": Rule.UNKNOWN_CHOICE,
    "literal_error": Rule.SCHEMA_VERSION, "string_pattern_mismatch": Rule.BAD_ID,
    "string_too_short": Rule.LENGTH, "string_too_long": Rule.LENGTH, "too_long": Rule.LENGTH,
    "too_short": Rule.EMPTY_LIST, "greater_than": Rule.OUT_OF_RANGE, "greater_than_equal": Rule.OUT_OF_RANGE,
    "less_than": Rule.OUT_OF_RANGE, "less_than_equal": Rule.OUT_OF_RANGE,
    "invisible_character": Rule.INVISIBLE_CHARACTER, "draft_placeholder": Rule.DRAFT_PLACEHOLDER,
    "tracking_parameter": Rule.TRACKING_PARAMETER, "bad_url": Rule.BAD_URL, "future_date": Rule.FUTURE_DATE,
}
_URL_FIELDS = frozenset({"url", "alternate_urls"})

# What contributors write for a kind, and the kind the catalog calls it.
KIND_SYNONYMS = {
    "blog": Kind.article, "blog-post": Kind.article, "blogpost": Kind.article, "post": Kind.article,
    "guide": Kind.tutorial, "howto": Kind.tutorial, "youtube": Kind.video, "talk": Kind.lecture,
    "class": Kind.lecture, "lesson": Kind.lecture, "pdf": Kind.paper, "preprint": Kind.paper,
    "arxiv": Kind.paper, "colab": Kind.notebook, "jupyter": Kind.notebook, "ipynb": Kind.notebook,
    "repo": Kind.code, "repository": Kind.code, "github": Kind.code, "library": Kind.code,
    "series": Kind.course, "mooc": Kind.course, "textbook": Kind.book, "ebook": Kind.book,
}


def rule_for(kind: str, loc: Key, value: Any) -> Rule:
    """The rule a pydantic error of type ``kind`` at ``loc`` breaks."""
    if isinstance(value, str) and PLACEHOLDER in value:
        return Rule.DRAFT_PLACEHOLDER
    if kind in _RULES:
        return _RULES[kind]
    if kind == "list_type" and value is None:
        return Rule.EMPTY_LIST
    if kind in _EXPECTED:
        return Rule.WRONG_TYPE
    if kind == "value_error":
        return Rule.BAD_URL if any(name in _URL_FIELDS for name in loc if isinstance(name, str)) else Rule.BAD_TEXT
    return Rule.WRONG_TYPE


def misplaced_resources(document: YamlDocument) -> tuple[list[Problem], list[Key]]:
    """A resource pasted under ``paths:`` (or into a stage): one clear problem per record, and where they are.

    The catalog ends with ``paths:``, so a resource appended at the end of the
    file lands in the paths list, where the schema would report a dozen
    unknown and missing fields. A record there with a ``url`` is a resource.
    """
    problems = []
    records = _path_records(document.data)
    for loc in records:
        where, _ = place(document.data, loc)
        problems.append(Problem(
            document.location(*loc), "looks like a resource (it has a url), but it is under paths:",
            where=where,
            hint="move it up under `resources:` (before the `paths:` line), indented like the other resources; "
                 "`learnpath add` writes a resource in the right place",
            rule=Rule.MISPLACED_RESOURCE,
        ))
    return problems, records


def _path_records(data: Any) -> list[Key]:
    """Locations of the records under ``paths`` (paths, stages, steps) that carry a ``url``."""
    found: list[Key] = []
    paths = data.get("paths") if isinstance(data, dict) else None
    for p, path in enumerate(paths if isinstance(paths, list) else []):
        if not isinstance(path, dict):
            continue
        if "url" in path:
            found.append(("paths", p))
            continue
        stages = path.get("stages")
        for s, stage in enumerate(stages if isinstance(stages, list) else []):
            if not isinstance(stage, dict):
                continue
            if "url" in stage:
                found.append(("paths", p, "stages", s))
                continue
            steps = stage.get("steps")
            for t, step in enumerate(steps if isinstance(steps, list) else []):
                if isinstance(step, dict) and "url" in step:
                    found.append(("paths", p, "stages", s, "steps", t))
    return found


def inside_any(loc: Key, records: list[Key]) -> bool:
    """True when ``loc`` is one of ``records`` or inside one."""
    return any(loc[:len(record)] == record for record in records)


def translate_error(error: dict[str, Any], document: YamlDocument) -> Problem:
    """Turn one ``ValidationError.errors()`` entry into a Problem at its node."""
    loc: Key = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    owner, info = field_at(loc)
    where, field = place(document.data, loc)
    rule = rule_for(kind, loc, value)
    if rule is Rule.DRAFT_PLACEHOLDER:
        message, hint = ("still holds a TODO placeholder from a draft",
                         f"write the real value: {info.description}" if info is not None and info.description
                         else "write the real value")
    else:
        message, hint = _message(kind, error, value, loc, owner, info)
    if kind == "missing":
        location = document.location(*loc[:-1])
    elif kind == "extra_forbidden":
        location = document.location(*loc, key=True)
    else:
        location = document.location(*loc)
    return Problem(location, message, where=where, field=field, hint=hint, rule=rule)


def _message(kind: str, error: dict[str, Any], value: Any, loc: Key,
             owner: type[BaseModel] | None, info: FieldInfo | None) -> tuple[str, str | None]:
    ctx = error.get("ctx") or {}
    description = info.description if info is not None else None
    if kind == "missing":
        return "is missing", (f"add it: {description}" if description else "add it")
    if kind == "extra_forbidden":
        return _unknown_field(str(loc[-1]), owner)
    if kind == "enum":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        synonym = KIND_SYNONYMS.get(value.strip().lower()) if isinstance(value, str) and loc[-1:] == ("kind",) else None
        hint = f"did you mean '{synonym.value}'?" if synonym else _closest(value, allowed)
        return f"{_shown(value)} is not one of {', '.join(allowed)}", hint or "use one of the values listed"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, not {_shown(value)}", "this version of learnpath reads schema_version: 1"
    if kind == "list_type" and value is None:
        return _empty_list(loc, ctx)
    if kind in _EXPECTED:
        expected, hint = _EXPECTED[kind]
        if kind.startswith("bool") and isinstance(value, str):
            hint = "write true or false, without quotes (yes/no/on/off are not booleans here)"
        if loc and loc[-1] == "year":
            hint = hint.replace("e.g. 45", "e.g. 2017")
        return f"expected {expected}, got {describe_value(value)}", hint
    if kind == "too_short":
        return _empty_list(loc, ctx)
    if kind == "too_long":
        return f"has {ctx.get('actual_length')} items; at most {ctx.get('max_length')} are allowed", None
    if kind == "string_pattern_mismatch":
        return (f"{_shown(value)} is not a valid id",
                "use lower-case letters, digits and single hyphens, e.g. 'lstm-colah'")
    if kind == "string_too_short":
        return _length_message(value, ctx, "at least", "min_length")
    if kind == "string_too_long":
        return _length_message(value, ctx, "at most", "max_length")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": "more than {gt}", "greater_than_equal": "at least {ge}",
                 "less_than": "less than {lt}", "less_than_equal": "at most {le}"}[kind].format(**ctx)
        return f"must be {bound}, not {_shown(value)}", _bound_hint(loc)
    if kind == "value_error":
        text = str(ctx.get("error") or error.get("msg", ""))
        return text.removeprefix("Value error, "), None
    if kind == "tracking_parameter":
        return f"carries tracking parameters ({ctx.get('found')})", f"use the address without them: {ctx.get('clean')}"
    if kind in _RULES:  # our validators' own errors: the message is already written for a contributor
        return str(error.get("msg", kind)), None
    return _lower_first(str(error.get("msg", kind))), None


def _unknown_field(name: str, owner: type[BaseModel] | None) -> tuple[str, str | None]:
    if owner is None:
        return f"unknown field '{name}'", None
    known = list(owner.model_fields)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    listing = ", ".join(known)
    if close:
        return f"unknown field '{name}'", f"did you mean '{close[0]}'? The fields here are: {listing}"
    return f"unknown field '{name}'", f"the fields here are: {listing}"


def _empty_list(loc: Key, ctx: dict[str, Any]) -> tuple[str, str | None]:
    name = str(loc[-1]) if loc else ""
    if name == "stages":
        return ("the path has no stages",
                "add at least one stage (id, title, goal, steps), or remove the path")
    if name == "steps":
        return ("the stage has no steps",
                "add at least one step (`- resource: <resource id>`), or remove the stage")
    if name in ("topics", "resources", "paths") and len(loc) == 1:
        return f"the catalog has no {name}", f"add at least one entry under `{name}:`"
    minimum = ctx.get("min_length", 1)
    return (f"is empty; list at least {minimum} item{'s' if minimum != 1 else ''}",
            "write one `- item` per line, or [a, b] on one line")


def _length_message(value: Any, ctx: dict[str, Any], word: str, key: str) -> tuple[str, str | None]:
    limit = ctx.get(key)
    length = len(value) if isinstance(value, str) else "?"
    return f"has {length} characters; write {word} {limit}", None


def _bound_hint(loc: Key) -> str | None:
    if loc and loc[-1] == "minutes":
        return "an honest estimate in minutes of working through it, e.g. 45 (a 10-hour course is 600)"
    if loc and loc[-1] == "year":
        return "the year of publication, e.g. 2017"
    return None


def _closest(value: Any, choices: list[str]) -> str | None:
    if not isinstance(value, str):
        return None
    close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]

