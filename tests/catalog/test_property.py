"""Property: however a valid catalog is mangled, the validator answers, never crashes.

Random mutations of the small catalog (drop, duplicate or rename keys,
retarget references, swap in values of other types, odd and non-ASCII
strings, raw text and byte edits) must give either a valid catalog or
``CatalogInvalid`` whose every problem has a real position, and must never
change the file.
"""

from __future__ import annotations

import copy
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnpath.catalog import CatalogInvalid, LoadedCatalog, load_catalog
from learnpath.catalog.problems import CatalogUnreadable
from tests.conftest import FIXTURES

BASE_TEXT = (FIXTURES / "valid" / "small.yaml").read_text(encoding="utf-8")
BASE = yaml.safe_load(BASE_TEXT)
IDS = ["rnn", "lstm", "attention", "rnn-intro", "lstm-explained", "attention-lecture", "main", "weekend"]

ODD_STRINGS = st.sampled_from([
    "", " ", "javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "https://user:pw@example.org/",
    "http://example.org/a b", "â€” mojibake", "<script>alert(1)</script>", "&anchor", "*alias", "{", "- x",
    "key: value", "'", '"', "#", "\u202eRTL", "日本語のテキスト", "emoji 🤖", "\t", "yes", "null", "2026-13-01",
    "0x1F", "1e309", "~", "https://youtu.be/AAAAAAAAAAA",
]) | st.text(max_size=30)
SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True)
           | st.dates(min_value=dt.date(1, 1, 1)) | ODD_STRINGS | st.sampled_from(IDS))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD_STRINGS, inner, max_size=3),
                      max_leaves=6)


class _NoAliases(yaml.SafeDumper):
    """Write repeated objects out in full (aliases are refused, and tested elsewhere)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _containers(node: Any, found: list[Any]) -> list[Any]:
    if isinstance(node, (dict, list)):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


@st.composite
def mutated_catalog(draw) -> bytes:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        containers = _containers(data, [])
        target = draw(st.sampled_from(containers))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        op = draw(st.sampled_from(["drop", "duplicate", "rename", "replace", "retarget", "add"]))
        if not keys or op == "add":
            if isinstance(target, dict):
                target[draw(ODD_STRINGS | st.sampled_from(["kind", "url", "id", "steps"]))] = draw(VALUES)
            else:
                target.append(draw(VALUES))
            continue
        key = draw(st.sampled_from(keys))
        if op == "drop":
            del target[key]
        elif op == "duplicate" and isinstance(target, list):
            target.append(copy.deepcopy(target[key]))
        elif op == "rename" and isinstance(target, dict):
            target[draw(ODD_STRINGS | st.integers(0, 3))] = target.pop(key)
        elif op == "retarget":
            target[key] = draw(st.sampled_from(IDS))
        else:
            target[key] = draw(VALUES)
    text = yaml.dump(data, Dumper=_NoAliases, allow_unicode=draw(st.booleans()), sort_keys=False)
    raw = text.encode("utf-8")
    edit = draw(st.sampled_from(["none", "none", "insert", "delete", "bytes"]))
    if edit != "none" and raw:
        at = draw(st.integers(0, len(raw)))
        if edit == "insert":
            raw = raw[:at] + draw(ODD_STRINGS).encode("utf-8") + raw[at:]
        elif edit == "delete":
            raw = raw[:at] + raw[at + draw(st.integers(1, 40)):]
        else:
            raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_catalog())
def test_mutations_never_crash_the_validator(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resources.yaml"
        path.write_bytes(raw)
        try:
            result = load_catalog(path)
        except CatalogUnreadable:  # pragma: no cover - the file exists and is readable
            raise AssertionError("a readable file was reported unreadable") from None
        except CatalogInvalid as exc:
            assert exc.problems
            for problem in exc.problems + exc.warnings:
                assert problem.location.line >= 1 and problem.location.column >= 1, problem
                assert problem.location.path == str(path)
                assert str(problem)
            assert exc.report().endswith("the catalog was not changed.")
        else:
            assert isinstance(result, LoadedCatalog)
            for warning in result.warnings:
                assert warning.location.line >= 1
        assert path.read_bytes() == raw


def test_the_unmutated_catalog_is_valid(tmp_path: Path) -> None:
    # The property starts from the catalog as the dumper writes it: that must be valid.
    path = tmp_path / "resources.yaml"
    path.write_text(yaml.dump(BASE, Dumper=_NoAliases, sort_keys=False), encoding="utf-8")
    assert load_catalog(path).catalog.resources
