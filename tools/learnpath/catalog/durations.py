"""How long a path (or a stage) takes: the one home of that sum.

The site's path pages, its home-page path cards and ``learnpath stats`` all
show a path's time; they call ``steps_time`` / ``path_time`` so the figure is
the same everywhere.

The rule: a resource is worked through once, however many steps name it, so
its minutes count once. A resource that any step of the path requires counts
as required, even if another step lists it as optional; only a resource that
every step naming it marks optional counts as optional time. (Summing the
steps instead counts a repeated resource twice, and an optional mention of a
required resource twice over: that is how ``learnpath stats`` once said 108
minutes for a path the site showed as 75.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from learnpath.catalog.schema import Catalog, LearningPath, Step


@dataclass(frozen=True)
class Time:
    """Minutes of a set of steps, each resource counted once."""

    required_minutes: int  # resources at least one step requires
    optional_minutes: int  # resources only optional steps name
    resources: int  # distinct resources

    @property
    def all_minutes(self) -> int:
        return self.required_minutes + self.optional_minutes


def distinct_resources(steps: Iterable[Step]) -> dict[str, bool]:
    """Each resource the steps name, once, in order of first mention -> whether any step requires it."""
    required: dict[str, bool] = {}
    for step in steps:
        required[step.resource] = required.get(step.resource, False) or not step.optional
    return required


def steps_time(catalog: Catalog, steps: Iterable[Step]) -> Time:
    """The time of ``steps`` (a stage's, or a whole path's), by the rule above."""
    resources = distinct_resources(steps)
    required_minutes = sum(catalog.resource(r).minutes for r, needed in resources.items() if needed)
    optional_minutes = sum(catalog.resource(r).minutes for r, needed in resources.items() if not needed)
    return Time(required_minutes, optional_minutes, len(resources))


def path_steps(path: LearningPath) -> list[Step]:
    """Every step of a path, in order."""
    return [step for stage in path.stages for step in stage.steps]


def path_time(catalog: Catalog, path: LearningPath) -> Time:
    """The time of a whole path."""
    return steps_time(catalog, path_steps(path))
