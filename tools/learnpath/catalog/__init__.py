"""The catalog: schema (models), load (YAML with locations) and validate (cross-references).

Public API::

    from learnpath.catalog import load_catalog, LoadedCatalog, CatalogInvalid

    loaded = load_catalog("resources.yaml")   # raises CatalogInvalid with every problem
    loaded.catalog                             # the validated Catalog model
    loaded.warnings                            # list[Problem], e.g. resources no path uses
    loaded.location("resources", 3, "url")     # Location of that node (file, line, column)
    normalize_url(url)                         # comparison key: equal keys = the same resource

``CatalogUnreadable`` (a ``CatalogInvalid``) means the file could not be read
at all: the CLI exits 2 for it, 1 for an invalid catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnpath.catalog.problems import CatalogInvalid, CatalogUnreadable, Location, Problem, Severity
from learnpath.catalog.urls import normalize_url
from learnpath.lazy import lazy_exports

# The models need pydantic, a third of a second to import; they are imported on first
# use, so a module that needs only Location or normalize_url (the link checker on a
# Markdown page) does not pay for them.
_LAZY = {name: "schema" for name in ("Catalog", "Kind", "LearningPath", "Level", "Resource", "Stage", "Step", "Topic")}
_LAZY.update({"LoadedCatalog": "validate", "load_catalog": "validate"})

if TYPE_CHECKING:
    from learnpath.catalog.schema import Catalog, Kind, LearningPath, Level, Resource, Stage, Step, Topic
    from learnpath.catalog.validate import LoadedCatalog, load_catalog

__all__ = [
    "Catalog", "CatalogInvalid", "CatalogUnreadable", "Kind", "LearningPath", "Level", "LoadedCatalog", "Location",
    "Problem", "Resource", "Severity", "Stage", "Step", "Topic", "load_catalog", "normalize_url",
]


__getattr__ = lazy_exports(__name__, _LAZY, globals())
