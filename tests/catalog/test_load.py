"""The YAML loader: values as SafeLoader builds them, positions, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from learnpath.catalog import CatalogInvalid, load_catalog
from learnpath.catalog import load as load_module
from learnpath.catalog.load import MAX_BYTES, load_yaml
from learnpath.catalog.problems import CatalogUnreadable


def write(tmp_path: Path, text: str | bytes, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture(params=["libyaml", "pure-python"])
def loader(request, monkeypatch):
    """Run a test with libyaml's parser and with PyYAML's own: both must agree."""
    if request.param == "libyaml":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.fail("PyYAML was built without libyaml; reinstall it (pip install --force-reinstall pyyaml)")
        monkeypatch.setattr(load_module, "Loader", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(load_module, "Loader", yaml.SafeLoader)
    return request.param


def test_values_match_safe_load(loader, small_catalog: Path) -> None:
    document = load_yaml(small_catalog)
    assert document.data == yaml.safe_load(small_catalog.read_text(encoding="utf-8"))


def test_scalars_resolve_like_yaml_1_1(loader, tmp_path: Path) -> None:
    text = "a: 12\nb: 1.5\nc: true\nd: False\ne: ~\nf: 2024-05-01\ng: '12'\nh: |\n  x\ni: 0x1F\nj: 2024-13-01\n"
    document = load_yaml(write(tmp_path, text))
    assert document.data == yaml.safe_load(text.replace("j: 2024-13-01\n", "")) | {"j": "2024-13-01"}


def test_positions_of_values_and_keys(loader, small_catalog: Path) -> None:
    document = load_yaml(small_catalog)
    lines = small_catalog.read_text(encoding="utf-8").splitlines()
    location = document.location("resources", 1, "url")
    assert lines[location.line - 1][location.column - 1:] == "https://example.org/posts/lstm/"
    key = document.location("resources", 1, "url", key=True)
    assert lines[key.line - 1][key.column - 1:].startswith("url:")
    step = document.location("paths", 0, "stages", 0, "steps", 1, "resource")
    assert lines[step.line - 1][step.column - 1:] == "lstm-explained"


def test_location_of_an_absent_node_is_its_nearest_ancestor(small_catalog: Path) -> None:
    loaded = load_catalog(small_catalog)
    # resources[1] has no `year`: its location is the resource's own mapping.
    assert loaded.location("resources", 1, "year") == loaded.location("resources", 1)
    assert loaded.location("no", "such", "thing") == loaded.location()
    assert loaded.location().line >= 1


def test_keys_stay_text(tmp_path: Path) -> None:
    # `yes:` is a bool in YAML 1.1 and `1:` an int; as keys they are misspelt fields.
    document = load_yaml(write(tmp_path, "yes: 1\n1: 2\nnull: 3\n"))
    assert document.data == {"yes": 1, "1": 2, "null": 3}


def test_duplicate_key_names_both_lines(loader, tmp_path: Path) -> None:
    with pytest.raises(CatalogInvalid) as caught:
        load_yaml(write(tmp_path, "a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n"))
    [problem] = caught.value.problems
    assert (problem.location.line, problem.location.column) == (5, 3)
    assert "duplicate key 'c' (first on line 3, again on line 5)" in problem.message


def test_syntax_error_position(loader, tmp_path: Path) -> None:
    with pytest.raises(CatalogInvalid) as caught:
        load_yaml(write(tmp_path, "a: 1\nb: [1, 2\nc: 3\n"))
    [problem] = caught.value.problems
    assert problem.message.startswith("invalid YAML:")
    assert problem.location.line >= 2


def test_byte_order_mark_is_accepted(small_catalog: Path, tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + small_catalog.read_bytes())
    assert load_catalog(path).catalog.resources


def test_bad_utf8_position_counts_characters(tmp_path: Path) -> None:
    with pytest.raises(CatalogInvalid) as caught:
        load_yaml(write(tmp_path, b"a: ok\nb: \xc3\xa9\xff\n"))  # "b: é" then a stray byte
    [problem] = caught.value.problems
    assert (problem.location.line, problem.location.column) == (2, 5)


def test_size_is_checked_before_reading(tmp_path: Path) -> None:
    # A sparse file: refused from its size alone, so nothing is read.
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(CatalogInvalid) as caught:
        load_yaml(path)
    [problem] = caught.value.problems
    assert f"over the {MAX_BYTES:,}-byte limit" in problem.message
    assert str(problem).startswith(f"{path}: ")


@pytest.mark.parametrize("make", [lambda d: d / "missing.yaml", lambda d: d])
def test_unreadable_path(tmp_path: Path, make) -> None:
    with pytest.raises(CatalogUnreadable) as caught:
        load_catalog(make(tmp_path))
    assert "cannot read the catalog" in caught.value.report()


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    # Nine levels of nine aliases would expand to 9**9 strings if constructed.
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    with pytest.raises(CatalogInvalid) as caught:
        load_yaml(write(tmp_path, "\n".join(lines) + "\n"))
    messages = [p.message for p in caught.value.problems]
    assert sum("anchor" in m for m in messages) == 10
    assert sum("alias" in m for m in messages) == 9  # one report per alias name


def test_mojibake_in_a_comment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogInvalid) as caught:
        load_yaml(write(tmp_path, "# Itâ€™s here\na: 1\n"))
    [problem] = caught.value.problems
    assert (problem.location.line, problem.location.column) == (1, 5)


def test_windows_line_endings_keep_positions(small_catalog: Path, tmp_path: Path) -> None:
    lf = load_yaml(small_catalog)
    crlf = load_yaml(write(tmp_path, small_catalog.read_bytes().replace(b"\n", b"\r\n")))
    for keys in [("resources", 2, "kind"), ("paths", 1, "stages", 0, "goal"), ("topics", 2)]:
        a, b = lf.location(*keys), crlf.location(*keys)
        assert (a.line, a.column) == (b.line, b.column)
