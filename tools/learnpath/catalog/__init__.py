"""The catalog: schema (models), load (YAML with locations) and validate (cross-references).

Public API::

    from learnpath.catalog import load_catalog, LoadedCatalog, CatalogInvalid

    loaded = load_catalog("resources.yaml")   # raises CatalogInvalid with every problem
    loaded.catalog                             # the validated Catalog model
    loaded.warnings                            # list[Problem], e.g. resources no path uses
    loaded.location("resources", 3, "url")     # Location of that node (file, line, column)
"""

from learnpath.catalog.problems import CatalogInvalid, Location, Problem, Severity
from learnpath.catalog.schema import Catalog, Kind, LearningPath, Level, Resource, Stage, Step, Topic
from learnpath.catalog.validate import LoadedCatalog, load_catalog

__all__ = [
    "Catalog", "CatalogInvalid", "Kind", "LearningPath", "Level", "LoadedCatalog", "Location",
    "Problem", "Resource", "Severity", "Stage", "Step", "Topic", "load_catalog",
]
