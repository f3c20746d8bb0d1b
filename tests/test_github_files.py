"""The GitHub files, checked without a runner: schemas, zizmor, pins, permissions, the forms, the hooks.

What these cannot prove (a real run on GitHub: the Pages deployment, the
issue job's gh calls, the cache between nights) is listed in the closing
notes of the change that added them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from learnpath.catalog.schema import Kind, Level
from tests.conftest import FIXTURES, ROOT

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
PIN = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?:\s+#\s+(?P<version>\S+))?\s*$")


def _run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def _workflow(path: Path) -> dict:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # `on:` stays a string key
    return data


def test_there_are_the_four_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "links-pr.yml", "links.yml", "pages.yml"]


def test_zizmor_finds_nothing_at_its_default_level() -> None:
    result = _run(str(BIN / "zizmor"), "--offline", "--format", "plain", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_zizmor_would_catch_an_unpinned_action(tmp_path: Path) -> None:
    # The audit above can fail: the same workflow with a tag instead of a commit is reported.
    bad = tmp_path / "ci.yml"
    bad.write_text((GITHUB / "workflows" / "ci.yml").read_text(encoding="utf-8").replace(
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "actions/checkout@v4"), encoding="utf-8")
    result = _run(str(BIN / "zizmor"), "--offline", str(bad))
    assert result.returncode != 0 and "unpinned-uses" in result.stdout


@pytest.mark.parametrize(("schema", "files"), [
    ("vendor.github-workflows", [str(p) for p in WORKFLOWS]),
    ("vendor.github-issue-forms", [str(p) for p in sorted((GITHUB / "ISSUE_TEMPLATE").glob("*.yml"))
                                   if p.name != "config.yml"]),
    ("vendor.github-issue-config", [str(GITHUB / "ISSUE_TEMPLATE" / "config.yml")]),
    ("vendor.dependabot", [str(GITHUB / "dependabot.yml")]),
])
def test_github_files_match_githubs_schemas(schema: str, files: list[str]) -> None:
    assert files
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", schema, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "uses:" not in line:
                continue
            match = PIN.match(line)
            assert match, f"{path.name}: {line.strip()}"
            assert re.fullmatch(r"[0-9a-f]{40}", match.group("ref")), f"{path.name}: not a commit: {line.strip()}"
            assert match.group("version") and re.fullmatch(r"v\d+(\.\d+)*", match.group("version")), line
            repo = "/".join(match.group("action").split("/")[:2])
            pins.setdefault(repo, set()).add(match.group("ref"))
    # One commit per action repository across the workflows (actions/cache/restore and /save included).
    assert all(len(refs) == 1 for refs in pins.values()), pins


def test_every_job_has_least_privilege_and_no_checkout_keeps_the_token() -> None:
    for path in WORKFLOWS:
        workflow = _workflow(path)
        assert workflow["permissions"] == {}, f"{path.name}: top-level permissions must be empty"
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} has no permissions"
            assert all(level in ("read", "write", "none") for level in job["permissions"].values())
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") == "false", f"{path.name}: {name}"


def test_the_issue_writing_job_sees_only_the_report() -> None:
    jobs = _workflow(GITHUB / "workflows" / "links.yml")["jobs"]
    issue = jobs["issue"]
    assert issue["permissions"] == {"issues": "write"}
    uses = [step.get("uses", "") for step in issue["steps"]]
    assert not any(u.startswith("actions/checkout@") for u in uses)
    assert any(u.startswith("actions/download-artifact@") for u in uses)
    script = issue["steps"][-1]["run"]
    # Found by marker and author, never by the label alone.
    assert '--author "app/github-actions"' in script and 'contains(\\"$MARKER\\")' in script
    assert "--label" not in script.split("gh issue create")[0].split("find_issue()")[1].split("}")[0]
    assert jobs["check"]["permissions"] == {"contents": "read"}
    assert "issues" not in jobs["check"]["permissions"]


def test_the_nightly_run_keeps_its_history_and_one_issue() -> None:
    """Moved here from tests/linkcheck/test_command.py with the workflows' rewrite."""
    text = (GITHUB / "workflows" / "links.yml").read_text(encoding="utf-8")
    flow = _workflow(GITHUB / "workflows" / "links.yml")
    assert flow["on"]["schedule"][0]["cron"] and "workflow_dispatch" in flow["on"]
    steps = flow["jobs"]["check"]["steps"]
    uses = {s.get("uses", "").split("@")[0]: s for s in steps}
    restore, save = uses["actions/cache/restore"]["with"], uses["actions/cache/save"]["with"]
    assert restore["key"] == save["key"] and "github.run_id" in save["key"]
    assert restore["restore-keys"].strip() == save["key"].split("${{")[0]
    assert uses["actions/cache/save"]["if"].startswith("always()")
    assert "linkcheck-report.json" in uses["actions/upload-artifact"]["with"]["path"]
    for command in ("find_issue open", "gh issue create", "gh issue edit", "--body-file", "gh issue close",
                    "gh issue reopen", "--format json --output", "--format markdown"):
        assert command in text, command


def test_a_damaged_history_is_set_aside_and_never_saved() -> None:
    steps = _workflow(GITHUB / "workflows" / "links.yml")["jobs"]["check"]["steps"]
    names = [step.get("name", "") for step in steps]
    assert names.index("Set a damaged history aside") < names.index("Check links")
    save = steps[names.index("Save the link-check history")]
    assert "steps.history.outputs.save == 'true'" in save["if"]


def test_the_pull_request_check_validates_first_against_the_merge_parent() -> None:
    job = _workflow(GITHUB / "workflows" / "links-pr.yml")["jobs"]["changed-links"]
    checkout = job["steps"][0]
    assert checkout["with"]["fetch-depth"] == "2"
    runs = [step.get("run", "") for step in job["steps"]]
    validate = next(i for i, run in enumerate(runs) if "learnpath validate --strict --format github" in run)
    links = next(i for i, run in enumerate(runs) if "check-links --only-changed HEAD^1" in run)
    assert validate < links
    assert all("GITHUB_STEP_SUMMARY" in runs[i] for i in (validate, links))
    assert "pull_request.base.sha" not in (GITHUB / "workflows" / "links-pr.yml").read_text(encoding="utf-8")


def test_pages_restores_the_nightly_history_and_deploys_with_the_official_actions() -> None:
    workflow = _workflow(GITHUB / "workflows" / "pages.yml")
    assert set(workflow["on"]) == {"push", "workflow_dispatch"} and workflow["on"]["push"]["branches"] == ["main"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    uses = [step.get("uses", "").split("@")[0] for step in build["steps"]]
    assert uses.index("actions/cache/restore") < [s.get("run") for s in build["steps"]].index("make build")
    restore = build["steps"][uses.index("actions/cache/restore")]
    assert restore["with"]["path"] == ".linkcheck" and restore["with"]["restore-keys"].strip() == "linkcheck-history-"
    assert "actions/upload-pages-artifact" in uses
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    nightly = _workflow(GITHUB / "workflows" / "links.yml")["jobs"]["pages"]
    assert nightly["permissions"] == {"actions": "write"} and "gh workflow run pages.yml" in nightly["steps"][0]["run"]


def test_installs_use_the_lock() -> None:
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "pip install -e" not in text and "pip install ." not in text, path.name
    assert "requirements/test.txt" in (GITHUB / "workflows" / "ci.yml").read_text(encoding="utf-8")


def test_the_suggestion_form_mirrors_the_schema() -> None:
    form = yaml.safe_load((GITHUB / "ISSUE_TEMPLATE" / "suggest-a-resource.yml").read_text(encoding="utf-8"))
    fields = {item["id"]: item for item in form["body"] if "id" in item}
    assert fields["kind"]["attributes"]["options"] == [k.value for k in Kind]
    assert fields["level"]["attributes"]["options"] == [lv.value for lv in Level]
    assert {"url", "title", "authors", "minutes", "free", "why", "where"} <= set(fields)


def test_dependabot_watches_the_lock_and_the_actions() -> None:
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text(encoding="utf-8"))
    assert {u["package-ecosystem"] for u in config["updates"]} == {"pip", "github-actions"}
    header = (ROOT / "requirements" / "test.txt").read_text(encoding="utf-8").splitlines()[:6]
    assert any("pip-compile" in line and "--generate-hashes" in line and "pyproject.toml" in line for line in header)


# --------------------------------------------------------------------------- #
# pre-commit hooks, run the way pre-commit would (from the repository root)
# --------------------------------------------------------------------------- #


def _hooks() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def _hook_argv(hook: dict) -> list[str]:
    argv = hook["entry"].split()
    assert argv[0].startswith(".venv/bin/"), hook["id"]
    return [str(BIN / argv[0].removeprefix(".venv/bin/")), *argv[1:]]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder laid out like the repository, with a small valid catalog in canonical layout."""
    (tmp_path / "schema").mkdir()
    shutil.copyfile(ROOT / "schema" / "resources.schema.json", tmp_path / "schema" / "resources.schema.json")
    shutil.copyfile(FIXTURES / "valid" / "small.yaml", tmp_path / "resources.yaml")
    assert _run(str(BIN / "learnpath"), "fmt", "resources.yaml", cwd=tmp_path).returncode == 0
    return tmp_path


def test_the_catalog_hooks_pass_on_a_good_catalog_and_fail_on_a_bad_one(project: Path) -> None:
    hooks = _hooks()
    assert {"learnpath-validate", "learnpath-fmt", "learnpath-schema", "check-github-workflows", "zizmor"} <= set(hooks)
    for name in ("learnpath-validate", "learnpath-fmt", "learnpath-schema"):
        assert re.search(hooks[name]["files"], "resources.yaml" if name != "learnpath-schema" else
                         "schema/resources.schema.json"), name
        result = _run(*_hook_argv(hooks[name]), cwd=project)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
    catalog = project / "resources.yaml"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace("    kind: lecture\n", "    kind: blog\n"),
                       encoding="utf-8")
    assert _run(*_hook_argv(hooks["learnpath-validate"]), cwd=project).returncode == 1
    catalog.write_text(catalog.read_text(encoding="utf-8").replace("kind: blog", "kind:  lecture"), encoding="utf-8")
    assert _run(*_hook_argv(hooks["learnpath-fmt"]), cwd=project).returncode == 1
    schema = project / "schema" / "resources.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"title"', '"titel"', 1), encoding="utf-8")
    assert _run(*_hook_argv(hooks["learnpath-schema"]), cwd=project).returncode == 1


def test_the_workflow_hooks_run_on_the_workflows() -> None:
    hooks = _hooks()
    for name in ("check-github-workflows", "zizmor"):
        assert all(re.search(hooks[name]["files"], str(p.relative_to(ROOT))) for p in WORKFLOWS)
        result = _run(*_hook_argv(hooks[name]), *map(str, WORKFLOWS))
        assert result.returncode == 0, (name, result.stdout, result.stderr)
