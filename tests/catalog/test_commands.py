"""`learnpath validate`, `schema` and `stats` through learnpath.cli.run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from learnpath.catalog.commands import render_json_schema, table
from learnpath.catalog.load import MAX_BYTES
from learnpath.cli import run
from tests.conftest import INVALID_FIXTURES, ROOT

SCHEMA_FILE = ROOT / "schema" / "resources.schema.json"


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_validate_valid(capsys, small_catalog: Path) -> None:
    code, out, _ = cli(capsys, "validate", str(small_catalog))
    assert code == 0
    assert out.strip() == f"{small_catalog}: valid: 3 topics, 3 resources, 2 paths"


def test_validate_defaults_to_resources_yaml_in_the_cwd(capsys, small_catalog: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "validate")
    assert code == 2 and "resources.yaml: cannot read the catalog" in err
    (tmp_path / "resources.yaml").write_bytes(small_catalog.read_bytes())
    assert cli(capsys, "validate")[0] == 0


# Fixtures that are only invalid under a lowered size limit are valid to the CLI.
CLI_INVALID = [p for p in INVALID_FIXTURES if b"\n# max-bytes:" not in p.read_bytes()[:400]]


@pytest.mark.parametrize("path", CLI_INVALID, ids=lambda p: p.name)
def test_validate_invalid_exits_1(capsys, path: Path) -> None:
    code, out, _ = cli(capsys, "validate", str(path))
    assert code == 1
    assert f"{path}:" in out and "the catalog was not changed." in out


def test_validate_missing_file_exits_2(capsys, tmp_path: Path) -> None:
    code, out, err = cli(capsys, "validate", str(tmp_path / "nope.yaml"))
    assert code == 2 and out == ""
    assert "nope.yaml: cannot read the catalog: No such file or directory" in err


def test_validate_file_over_the_size_limit_exits_1(capsys, tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: refused from its size, never read
        handle.truncate(MAX_BYTES + 1)
    code, out, _ = cli(capsys, "validate", str(path))
    assert code == 1 and f"{path}: is {MAX_BYTES + 1:,} bytes, over the" in out


def test_validate_directory_exits_2(capsys, tmp_path: Path) -> None:
    assert cli(capsys, "validate", str(tmp_path))[0] == 2


def test_unknown_option_exits_2(capsys) -> None:
    assert cli(capsys, "validate", "--colour")[0] == 2


def test_json_format_is_a_versioned_envelope(capsys, tmp_path: Path, small_catalog: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(small_catalog.read_text(encoding="utf-8").replace("kind: lecture", "kind: blog"), encoding="utf-8")
    code, out, _ = cli(capsys, "validate", "--format", "json", str(bad))
    assert code == 1
    report = json.loads(out)
    assert (report["version"], report["tool"], report["file"], report["valid"]) == (1, "learnpath validate", str(bad),
                                                                                   False)
    assert report["summary"] == {"errors": 1, "warnings": 0, "not_shown": {}}
    [problem] = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["file"] == str(bad) and problem["field"] == "kind"
    assert problem["where"] == "resources[2] (id: attention-lecture)"
    assert (problem["rule"], problem["name"]) == ("LP104", "unknown-choice")
    assert problem["hint"] == "did you mean 'article'?"
    assert set(problem) == {"file", "line", "column", "where", "field", "message", "hint", "severity", "rule", "name"}
    assert isinstance(problem["line"], int) and problem["line"] >= 1


def test_json_format_valid_has_no_problems(capsys, small_catalog: Path) -> None:
    code, out, _ = cli(capsys, "validate", "--format", "json", str(small_catalog))
    report = json.loads(out)
    assert (code, report["valid"], report["problems"]) == (0, True, [])


def test_github_format_annotates_each_problem_on_its_line(capsys, tmp_path: Path, small_catalog: Path) -> None:
    bad = tmp_path / "bad,name.yaml"  # a comma must not split the file= property
    text = small_catalog.read_text(encoding="utf-8").replace("    year: 2015\n", "    yaer: 2015\n")
    bad.write_text(text, encoding="utf-8")
    code, out, _ = cli(capsys, "validate", "--format", "github", str(bad))
    line = text.splitlines().index("    yaer: 2015") + 1
    annotation, summary = out.splitlines()
    assert code == 1
    assert annotation.startswith(f"::error file={str(bad).replace(',', '%2C')},line={line},col=5,"
                                 "title=LP101 unknown-field::resources[0] (id: rnn-intro) field 'yaer': "
                                 "unknown field 'yaer'%0Ahint: did you mean 'year'?")
    assert "invalid: 1 error" in summary


def test_github_format_strict_makes_warnings_errors(capsys, tmp_path: Path, small_catalog: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(small_catalog.read_text(encoding="utf-8").replace(
        "          - resource: attention-lecture\n            optional: true\n",
        "          - resource: rnn-intro\n"), encoding="utf-8")
    code, out, _ = cli(capsys, "validate", "--format", "github", str(path))
    assert code == 0 and out.startswith("::warning ") and "title=LP307 unused-resource" in out
    code, out, _ = cli(capsys, "validate", "--format", "github", "--strict", str(path))
    assert code == 1 and out.startswith("::error ") and "invalid under --strict" in out


def test_quiet_and_strict(capsys, tmp_path: Path, small_catalog: Path) -> None:
    # Take the lecture off the path: valid, with one warning.
    path = tmp_path / "c.yaml"
    path.write_text(small_catalog.read_text(encoding="utf-8").replace(
        "          - resource: attention-lecture\n            optional: true\n",
        "          - resource: rnn-intro\n"), encoding="utf-8")
    code, out, _ = cli(capsys, "validate", str(path))
    assert code == 0 and "warning: resources[2] (id: attention-lecture): 'attention-lecture' is on no path" in out
    assert cli(capsys, "validate", "--quiet", str(path))[:2] == (0, "")
    code, out, _ = cli(capsys, "validate", "--strict", str(path))
    assert code == 1 and "invalid under --strict" in out


def test_schema_prints_json_schema(capsys) -> None:
    code, out, _ = cli(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"schema_version", "topics", "resources", "paths"}


def test_committed_schema_has_not_drifted() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_json_schema(), (
        "schema/resources.schema.json is out of date: run `learnpath schema > schema/resources.schema.json`"
    )


def test_stats(capsys, small_catalog: Path) -> None:
    code, out, _ = cli(capsys, "stats", str(small_catalog))
    assert code == 0
    assert "3 resources, 3 topics, 2 paths, 2.5 hours in all" in out
    lines = out.splitlines()
    assert any(line.split() == ["article", "2", "67%"] for line in lines)
    assert any(line.split() == ["lstm", "2"] for line in lines)
    assert any(line.split() == ["paid", "1", "33%"] for line in lines)
    # main: 30 + 45 required minutes, the 75-minute lecture optional.
    assert any(line.split()[:4] == ["main", "2", "3", "1.2"] and "1.2 (1 step)" in line for line in lines)


def test_stats_json(capsys, small_catalog: Path) -> None:
    code, out, _ = cli(capsys, "stats", "--format", "json", str(small_catalog))
    stats = json.loads(out)
    assert code == 0
    assert stats["by_kind"] == {"article": 2, "lecture": 1}
    assert stats["paths"][1] == {"id": "weekend", "title": "A weekend on LSTMs", "stages": 1, "steps": 2,
                                 "optional_steps": 1, "hours": 0.8, "optional_hours": 0.5}


def test_stats_on_invalid_catalog_exits_1(capsys) -> None:
    code, _, err = cli(capsys, "stats", str(INVALID_FIXTURES[0]))
    assert code == 1 and "run `learnpath validate`" in err


def test_table_aligns_numbers_right() -> None:
    assert table(["name", "n"], [["a", 5], ["bbb", 12]]).splitlines() == [
        "name   n", "----  --", "a      5", "bbb   12",
    ]
