"""Shared test helpers: where the fixture catalogs live (keep this file small)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
VALID_FIXTURES = sorted((FIXTURES / "valid").glob("*.yaml"))
INVALID_FIXTURES = sorted((FIXTURES / "invalid").glob("*.yaml"))


@pytest.fixture
def small_catalog() -> Path:
    """A small, complete, valid catalog (two paths sharing resources)."""
    return FIXTURES / "valid" / "small.yaml"
