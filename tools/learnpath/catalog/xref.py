"""Checks that need the whole catalog: ids, URLs, references, cycles.

They run on the raw data, not on the models, so they still report when the
schema check failed somewhere else: one run, every problem. Values of the
wrong type are skipped here (the schema check reports them). Every check is
linear in the size of the catalog (dictionaries, one depth-first search).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from learnpath.catalog.errors import place
from learnpath.catalog.load import Key, YamlDocument
from learnpath.catalog.problems import Problem
from learnpath.catalog.rules import Rule, Severity
from learnpath.catalog.schema import PLACEHOLDER
from learnpath.catalog.urls import normalize_url


class _Report:
    """Collects errors and warnings with their place in the document."""

    def __init__(self, document: YamlDocument):
        self.document = document
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, loc: Key, message: str, hint: str | None = None, *, rule: Rule,
            whole_record: bool = False) -> None:
        """Report at ``loc``; ``whole_record`` names the record, not the field (``loc[-1]``)."""
        where, field = place(self.document.data, loc[:-1] if whole_record else loc)
        problem = Problem(self.document.location(*loc), message, where=where, field=field, hint=hint, rule=rule)
        (self.errors if rule.severity is Severity.error else self.warnings).append(problem)

    def line(self, loc: Key) -> int:
        return self.document.location(*loc).line


MAX_STAGE_STEPS = 6  # more steps than this in one stage is a warning


def cross_reference_problems(document: YamlDocument) -> tuple[list[Problem], list[Problem]]:
    """``(errors, warnings)`` from every whole-catalog check."""
    report = _Report(document)
    data = document.data if isinstance(document.data, dict) else {}
    topic_ids = _unique_ids(report, data, "topics")
    resource_ids = _unique_ids(report, data, "resources")
    _unique_ids(report, data, "paths")
    _id_clashes(report, topic_ids, resource_ids)
    _duplicate_urls(report, data)
    _duplicate_titles(report, data)
    _resource_references(report, data, topic_ids, resource_ids)
    _prerequisite_cycles(report, data, resource_ids)
    used = _path_references(report, data, resource_ids)
    _unused(report, data, resource_ids, topic_ids, used)
    return report.errors, report.warnings


def _records(data: dict[str, Any], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = data.get(name)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, item


def _strings(record: dict[str, Any], name: str) -> Iterator[tuple[int, str]]:
    items = record.get(name)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, str):
                yield index, item


def _unique_ids(report: _Report, data: dict[str, Any], name: str) -> dict[str, int]:
    """id -> index of its first record; later repeats are errors."""
    seen: dict[str, int] = {}
    for index, record in _records(data, name):
        _check_unique(report, seen, record.get("id"), index, (name,))
    return seen


def _check_unique(report: _Report, seen: dict[str, int], value: Any, index: int, prefix: Key) -> None:
    if not isinstance(value, str):
        return
    if value in seen:
        first = prefix + (seen[value], "id")
        report.add(prefix + (index, "id"), f"duplicate id '{value}' (first used on line {report.line(first)})",
                   "ids must be unique; give this one a new id (and keep the older one, readers' progress uses it)",
                   rule=Rule.DUPLICATE_ID)
    else:
        seen[value] = index


def _id_clashes(report: _Report, topic_ids: dict[str, int], resource_ids: dict[str, int]) -> None:
    # A prerequisite names a resource or a topic: one id for both is ambiguous.
    for value, index in resource_ids.items():
        if value in topic_ids:
            report.add(("resources", index, "id"),
                       f"'{value}' is also a topic id (line {report.line(('topics', topic_ids[value], 'id'))})",
                       "prerequisites name a resource or a topic, so the two must differ; rename the resource",
                       rule=Rule.ID_CLASH)


def _duplicate_urls(report: _Report, data: dict[str, Any]) -> None:
    first: dict[str, Key] = {}
    for index, record in _records(data, "resources"):
        places: list[tuple[Key, Any]] = [(("resources", index, "url"), record.get("url"))]
        places += [(("resources", index, "alternate_urls", j), url)
                   for j, url in _strings(record, "alternate_urls")]
        for loc, url in places:
            if not isinstance(url, str):
                continue
            key = normalize_url(url)
            if key not in first:
                first[key] = loc
                continue
            earlier = first[key]
            if earlier[1] == index:
                report.add(loc, f"'{url}' repeats this resource's own address ({earlier[-1]}, line "
                                f"{report.line(earlier)})", "remove the repeated address",
                           rule=Rule.DUPLICATE_URL)
            else:
                other = data["resources"][earlier[1]].get("id")
                report.add(loc, f"'{url}' is the same address as resources[{earlier[1]}] (id: {other}) on line "
                                f"{report.line(earlier)}",
                           "one work, one resource: merge the two entries (URLs are compared without http/https, "
                           "www., trailing slashes, tracking parameters and YouTube/arXiv variants)",
                           rule=Rule.DUPLICATE_URL)


def _duplicate_titles(report: _Report, data: dict[str, Any]) -> None:
    """Warn when two resources share a title: often one work under two addresses."""
    first: dict[str, int] = {}
    for index, record in _records(data, "resources"):
        title = record.get("title")
        if not isinstance(title, str):
            continue
        key = " ".join(re.findall(r"\w+", title.casefold()))
        if key not in first:
            first[key] = index
            continue
        other = first[key]
        report.add(("resources", index, "title"),
                   f"same title as resources[{other}] (id: {data['resources'][other].get('id')}) on line "
                   f"{report.line(('resources', other, 'title'))}",
                   "if both are the same work, keep one resource and list the other address under "
                   "alternate_urls; otherwise make the titles tell them apart", rule=Rule.DUPLICATE_TITLE)


def _resource_references(report: _Report, data: dict[str, Any],
                         topic_ids: dict[str, int], resource_ids: dict[str, int]) -> None:
    topics = _Suggester(topic_ids, "topics")
    prerequisites = _Suggester([*topic_ids, *resource_ids], "resources or topics")
    for index, record in _records(data, "resources"):
        listed: set[str] = set()
        for j, topic in _strings(record, "topics"):
            loc = ("resources", index, "topics", j)
            if topic == PLACEHOLDER:
                continue  # a draft's TODO: the schema check reports it
            if topic not in topic_ids:
                report.add(loc, f"unknown topic '{topic}'", topics.hint(topic), rule=Rule.UNKNOWN_REFERENCE)
            elif topic in listed:
                report.add(loc, f"lists topic '{topic}' twice", "remove the repeat", rule=Rule.REPEATED_REFERENCE)
            listed.add(topic)
        listed = set()
        for j, prereq in _strings(record, "prerequisites"):
            loc = ("resources", index, "prerequisites", j)
            if prereq not in resource_ids and prereq not in topic_ids:
                report.add(loc, f"unknown prerequisite '{prereq}' (neither a resource nor a topic id)",
                           prerequisites.hint(prereq), rule=Rule.UNKNOWN_REFERENCE)
            elif prereq in listed:
                report.add(loc, f"lists prerequisite '{prereq}' twice", "remove the repeat",
                           rule=Rule.REPEATED_REFERENCE)
            listed.add(prereq)


def _prerequisite_cycles(report: _Report, data: dict[str, Any], resource_ids: dict[str, int]) -> None:
    """Report each cycle among resource prerequisites once, naming it ``a -> b -> a``.

    An iterative depth-first search (a long chain must not hit the recursion
    limit): a prerequisite still on the stack closes a cycle.
    """
    resources = data.get("resources") if isinstance(data.get("resources"), list) else []
    edges: dict[str, list[tuple[str, Key]]] = {}
    for rid, index in resource_ids.items():
        record = resources[index]
        edges[rid] = [(p, ("resources", index, "prerequisites", j))
                      for j, p in _strings(record, "prerequisites") if p in resource_ids]
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    reported: set[frozenset[str]] = set()
    for start in edges:
        if start in state:
            continue
        stack: list[tuple[str, Iterator[tuple[str, Key]]]] = [(start, iter(edges[start]))]
        on_stack = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            step = next(children, None)
            if step is None:
                stack.pop()
                on_stack.pop()
                state[node] = 2
                continue
            child, loc = step
            if state.get(child) == 1:
                cycle = on_stack[on_stack.index(child):] + [child]
                members = frozenset(cycle)
                if members not in reported:
                    reported.add(members)
                    report.add(loc, "prerequisite cycle: " + " -> ".join(cycle),
                               "a resource cannot (even indirectly) require itself; remove one of these "
                               "prerequisites", rule=Rule.PREREQUISITE_CYCLE)
            elif child not in state:
                state[child] = 1
                on_stack.append(child)
                stack.append((child, iter(edges[child])))


def _path_references(report: _Report, data: dict[str, Any], resource_ids: dict[str, int]) -> set[str]:
    """Check each path's stages and steps; return the resource ids paths use."""
    used: set[str] = set()
    resources = data.get("resources") if isinstance(data.get("resources"), list) else []
    suggester = _Suggester(resource_ids, "resources")
    for p, path in _records(data, "paths"):
        stage_ids: dict[str, int] = {}
        position: dict[str, Key] = {}  # resource id -> its first step in this path
        for s, stage in _records(path, "stages"):
            _check_unique(report, stage_ids, stage.get("id"), s, ("paths", p, "stages"))
            steps = stage.get("steps")
            if isinstance(steps, list) and len(steps) > MAX_STAGE_STEPS:
                report.add(("paths", p, "stages", s, "steps"),
                           f"has {len(steps)} steps; a stage of more than {MAX_STAGE_STEPS} is hard to finish",
                           "split the stage in two, or move extra reading to the topic page",
                           rule=Rule.LONG_STAGE)
            for t, step in _records(stage, "steps"):
                rid = step.get("resource")
                if not isinstance(rid, str):
                    continue
                loc = ("paths", p, "stages", s, "steps", t, "resource")
                if rid not in resource_ids:
                    report.add(loc, f"unknown resource '{rid}'", suggester.hint(rid), rule=Rule.UNKNOWN_REFERENCE)
                    continue
                used.add(rid)
                if rid in position:
                    report.add(loc, f"'{rid}' is already a step of this path (line {report.line(position[rid])})",
                               "a path lists each resource once; remove one of the steps",
                               rule=Rule.REPEATED_STEP)
                    continue
                position[rid] = loc
        _order_warnings(report, resources, resource_ids, position)
    return used


def _order_warnings(report: _Report, resources: list[Any], resource_ids: dict[str, int],
                    position: dict[str, Key]) -> None:
    """Warn when a path puts a resource before one of its prerequisites, or leaves one out.

    A prerequisite resource must be an earlier step of the same path. A
    prerequisite topic need not be on the path (a path may assume it), but if
    the path teaches it, it must do so before the step that relies on it.
    """
    order = {rid: rank for rank, rid in enumerate(position)}
    first_taught: dict[str, int] = {}  # topic id -> rank of the first step teaching it
    for rid, rank in order.items():
        for _, topic in _strings(resources[resource_ids[rid]], "topics"):
            first_taught.setdefault(topic, rank)
    for rid, loc in position.items():
        record = resources[resource_ids[rid]]
        for _, prereq in _strings(record, "prerequisites"):
            if prereq in order:
                if order[prereq] > order[rid]:
                    report.add(loc, f"'{rid}' comes before its prerequisite '{prereq}' (line "
                                    f"{report.line(position[prereq])})",
                               "move the prerequisite earlier in the path", rule=Rule.PREREQUISITE_ORDER)
            elif prereq in resource_ids:
                report.add(loc, f"'{rid}' builds on '{prereq}', which this path leaves out",
                           f"add '{prereq}' as an earlier step (optional: true if it is background), or "
                           "drop the prerequisite if the resource stands on its own", rule=Rule.MISSING_PREREQUISITE)
            elif first_taught.get(prereq, -1) > order[rid]:
                first = list(position.values())[first_taught[prereq]]
                report.add(loc, f"'{rid}' assumes topic '{prereq}', which this path teaches only later "
                                f"(line {report.line(first)})",
                           "move the step after the stage that teaches the topic", rule=Rule.TOPIC_TAUGHT_LATER)


def _unused(report: _Report, data: dict[str, Any], resource_ids: dict[str, int],
            topic_ids: dict[str, int], used: set[str]) -> None:
    for rid, index in resource_ids.items():
        if rid not in used:
            report.add(("resources", index, "id"), f"'{rid}' is on no path",
                       "add it as a step (optional: true if it is extra reading), or drop it",
                       rule=Rule.UNUSED_RESOURCE, whole_record=True)
    taught = {topic for _, record in _records(data, "resources") for _, topic in _strings(record, "topics")}
    for tid, index in topic_ids.items():
        if tid not in taught:
            report.add(("topics", index, "id"), f"no resource teaches topic '{tid}'",
                       "add a resource with this topic, or remove the topic",
                       rule=Rule.UNTAUGHT_TOPIC, whole_record=True)


class _Suggester:
    """"Did you mean ...?" for a misspelt id, affordable at 10,000 ids.

    difflib compares a value with every candidate (tens of microseconds
    each), so only ids with the same first character are candidates, and the
    comparisons are capped per check: a realistic catalog gets a suggestion
    for every typo, while one with thousands of broken references among
    thousands of ids gets the first few and still answers in a blink.
    """

    BUDGET = 10_000  # candidate comparisons per check

    def __init__(self, known: Iterable[str], what: str):
        self.what = what
        self.budget = self.BUDGET
        self.by_initial: dict[str, list[str]] = defaultdict(list)
        for value in known:
            self.by_initial[value[:1]].append(value)
        self.hints: dict[str, str] = {}

    def hint(self, value: str) -> str:
        if value not in self.hints:
            candidates = self.by_initial.get(value[:1], [])
            close = []
            if len(candidates) <= self.budget:
                self.budget -= len(candidates)
                close = difflib.get_close_matches(value, candidates, n=1, cutoff=0.6)
            self.hints[value] = f"did you mean '{close[0]}'?" if close else f"use one of the ids defined under {self.what}"
        return self.hints[value]
