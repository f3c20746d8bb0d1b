"""Names a package exports but imports only on first use (PEP 562).

A package's ``__init__`` imports everything it re-exports; for the link
checker and the catalog that meant requests or pydantic before any work,
even for a command that needs neither. With `lazy_exports`, the submodule
is imported when the name is first looked up, and the name is then cached
in the package so later lookups cost nothing::

    __getattr__ = lazy_exports(__name__, {"Checker": "checker"}, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``name`` from ``package.<exports[name]>``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # later lookups skip this function
        return value

    return __getattr__
