"""Load a catalog and check it whole: schema, then cross-references.

``load_catalog`` is the one entry point. It reads the file with positions
(``load.py``), runs the Pydantic models and turns each of their errors into
a ``Problem`` at the offending node, then checks what a single model cannot
see (unique ids and URLs, references, prerequisite cycles) on the raw data,
so one run reports everything it can. Every error is collected before
anything is raised.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from learnpath.catalog.errors import describe_value, inside_any, misplaced_resources, translate_error
from learnpath.catalog.load import MAX_BYTES, YamlDocument, load_yaml
from learnpath.catalog.problems import CatalogInvalid, Location, Problem, sort_problems
from learnpath.catalog.rules import Rule
from learnpath.catalog.schema import Catalog
from learnpath.catalog.xref import cross_reference_problems


@dataclass
class LoadedCatalog:
    """A valid catalog, with the warnings noticed and where each node was."""

    catalog: Catalog
    path: Path
    warnings: list[Problem] = field(default_factory=list)
    document: YamlDocument | None = field(default=None, repr=False)

    def location(self, *keys: Any) -> Location:
        """Where the node at ``keys`` (e.g. ``"resources", 3, "url"``) is in the file.

        A path that is not in the file (an optional field left out) gives its
        nearest ancestor, so the answer is always a real place to look.
        """
        if self.document is None:
            return Location(str(self.path), 1, 1)
        return self.document.location(*keys)


def load_catalog(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, text: str | None = None) -> LoadedCatalog:
    """Read and validate the catalog at ``path`` (or ``text``, named ``path`` in messages).

    Raises ``CatalogInvalid`` with every problem found (``CatalogUnreadable``,
    a subclass, when the file cannot be read at all). The file is only read.
    """
    with _gc_paused():
        return _load(path, max_bytes, text)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building the catalog.

    Loading allocates hundreds of thousands of dicts, lists and models, none
    of them in cycles; every allocation burst would otherwise trigger a
    collection that walks the whole growing heap (a third of the load time
    for 10,000 resources).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(path: str | os.PathLike[str], max_bytes: int, text: str | None) -> LoadedCatalog:
    document = load_yaml(path, max_bytes=max_bytes, text=text)
    data = document.data
    if not isinstance(data, dict):
        raise CatalogInvalid([Problem(
            document.location(),
            f"the top level is {describe_value(data)}, but a catalog is a mapping",
            hint="start the file with `schema_version: 1`, then `topics:`, `resources:` and `paths:`",
            rule=Rule.NOT_A_CATALOG,
        )])
    catalog, errors = _schema_problems(document)
    xref_errors, warnings = cross_reference_problems(document)
    errors = _unique(errors + xref_errors)
    if errors or catalog is None:
        raise CatalogInvalid(errors, warnings)
    return LoadedCatalog(catalog=catalog, path=Path(path), warnings=sort_problems(warnings), document=document)


def _schema_problems(document: YamlDocument) -> tuple[Catalog | None, list[Problem]]:
    try:
        return Catalog.model_validate(document.data), []
    except ValidationError as exc:
        misplaced, records = misplaced_resources(document)
        return None, misplaced + [translate_error(error, document) for error in exc.errors(include_url=False)
                                  if not inside_any(tuple(error["loc"]), records)]


def _unique(problems: list[Problem]) -> list[Problem]:
    """Drop exact repeats (the schema and a cross-check can see one fault)."""
    seen: set[tuple[Location, str, str | None]] = set()
    result = []
    for problem in problems:
        key = (problem.location, problem.message, problem.field)
        if key not in seen:
            seen.add(key)
            result.append(problem)
    return result

