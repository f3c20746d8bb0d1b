"""load_catalog: messages, locations, warnings, and one run reporting everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnpath.catalog import CatalogInvalid, Kind, Severity, load_catalog


def variant(small_catalog: Path, tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the small catalog with each (old, new) text replaced once."""
    text = small_catalog.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "resources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list:
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog(path)
    return caught.value.problems


def test_valid_catalog_is_typed(small_catalog: Path) -> None:
    catalog = load_catalog(small_catalog).catalog
    assert catalog.resource("attention-lecture").kind is Kind.lecture
    assert catalog.resource("lstm-explained").prerequisites == ["rnn-intro"]
    weekend = next(path for path in catalog.paths if path.id == "weekend")
    assert weekend.stages[0].steps[1].resource == "lstm-explained"


def test_message_reads_like_the_issue(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("    kind: lecture\n", "    kind: blog\n"))
    [problem] = problems_of(path)
    line = path.read_text().splitlines().index("    kind: blog") + 1
    assert str(problem).startswith(
        f"{path}:{line}:11: resources[2] (id: attention-lecture) field 'kind': 'blog' is not one of article, video,"
    )
    assert problem.hint


def test_one_run_reports_schema_and_reference_errors(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(
        small_catalog, tmp_path,
        ("    minutes: 30\n", "    minutes: -3\n"),                  # schema
        ("topics: [lstm]\n", "topics: [lstm, gru]\n"),                # unknown topic
        ("      - resource: lstm-explained\n", "      - resource: nope\n"),  # unknown step resource (weekend)
        ("https://example.org/posts/lstm.pdf", "http://www.example.org/blog/rnn-intro/"),  # duplicate URL
    )
    messages = [p.message for p in problems_of(path)]
    assert any("must be more than 0" in m for m in messages)
    assert any("unknown topic 'gru'" in m for m in messages)
    assert any("unknown resource 'nope'" in m for m in messages)
    assert any("is the same address as resources[0] (id: rnn-intro)" in m for m in messages)
    assert len(messages) == 4


def test_missing_field_points_at_its_mapping(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("    level: advanced\n", ""))
    [problem] = problems_of(path)
    assert problem.field == "level" and problem.message == "is missing"
    assert path.read_text().splitlines()[problem.location.line - 1].strip() == "- id: attention-lecture"
    assert "How much the reader needs to know first" in problem.hint


def test_unknown_field_suggests_the_closest(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("    year: 2015\n", "    yaer: 2015\n"))
    [problem] = problems_of(path)
    assert problem.message == "unknown field 'yaer'"
    assert problem.hint.startswith("did you mean 'year'?")


def test_topic_and_resource_ids_must_differ(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("  - id: rnn\n", "  - id: rnn-intro\n"),
                   ("topics: [rnn]\n", "topics: [rnn-intro]\n"), ("[lstm-explained, rnn]", "[lstm-explained]"))
    [problem] = problems_of(path)
    assert "'rnn-intro' is also a topic id" in problem.message


def test_warnings_do_not_fail(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path,
                   ("          - resource: attention-lecture\n            optional: true\n", "          - resource: rnn-intro\n"))
    loaded = load_catalog(path)
    texts = [str(w) for w in loaded.warnings]
    assert all(w.severity is Severity.warning for w in loaded.warnings)
    assert any("'attention-lecture' is on no path" in t for t in texts)
    assert any("'rnn-intro' is already a step of this path" in t for t in texts)


def test_step_before_its_prerequisite_warns(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path,
                   ("          - resource: rnn-intro\n            why: It builds the intuition every later stage relies on.\n"
                    "          - resource: lstm-explained\n",
                    "          - resource: lstm-explained\n          - resource: rnn-intro\n"))
    warnings = [str(w) for w in load_catalog(path).warnings]
    assert any("'lstm-explained' comes before its prerequisite 'rnn-intro'" in w for w in warnings)


def test_invalid_catalog_carries_its_warnings(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("    kind: lecture\n", "    kind: blog\n"),
                   ("          - resource: attention-lecture\n", "          - resource: rnn-intro\n"))
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog(path)
    assert len(caught.value.problems) == 1
    assert any("'attention-lecture' is on no path" in w.message for w in caught.value.warnings)
    assert caught.value.report().endswith("1 error; the catalog was not changed.")


def test_long_prerequisite_chain_does_not_recurse(small_catalog: Path, tmp_path: Path) -> None:
    # 3,000 resources in one chain plus a cycle at the end: an iterative search copes.
    text = small_catalog.read_text(encoding="utf-8")
    head, paths = text.split("\npaths:\n")
    block = ("  - id: r{n}\n    title: R{n}\n    url: https://example.org/r{n}\n    kind: article\n"
             "    authors: [A]\n    topics: [rnn]\n    level: beginner\n    minutes: 5\n    free: true\n"
             "    description: A resource in a long chain.\n    prerequisites: [r{p}]\n    added: 2026-11-22\n")
    chain = "".join(block.format(n=n, p=(n + 1) % 3000) for n in range(3000))
    path = tmp_path / "chain.yaml"
    path.write_text(head + "\n" + chain + "paths:\n" + paths, encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.message.startswith("prerequisite cycle: r0 -> r1 -> r2")
    assert problem.message.endswith("r2999 -> r0")


def test_same_title_twice_warns(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("LSTMs explained — with pictures", "An Introduction to RNNs, a First Look!"))
    warnings = [w for w in load_catalog(path).warnings if w.field == "title"]
    assert len(warnings) == 1
    assert "same title as resources[0] (id: rnn-intro)" in warnings[0].message
    assert warnings[0].where == "resources[1] (id: lstm-explained)"


def test_check_questions_are_typed(small_catalog: Path) -> None:
    paths = {path.id: path for path in load_catalog(small_catalog).catalog.paths}
    stage = paths["weekend"].stages[0]
    assert [c.question for c in stage.check][0].startswith("Which gate decides")
    assert paths["main"].stages[0].check == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # one question: two to four, or none
        (("          - question: Why does an LSTM keep gradients alive over long sequences?\n"
          "            answer: The cell state is updated additively, so its gradient is not multiplied by a "
          "squashing Jacobian at every step.\n", ""), "has one question; write two to four, or none"),
        (("sequences?\n", "sequences.\n"), "must be a question, ending with a question mark"),
        (("answer: The forget gate. It multiplies the previous cell state element by element.",
          "answer: the forget gate multiplies the old state element by element"), "must be at least one full sentence"),
        (("            answer: The forget gate.", "            answr: The forget gate."), "unknown field 'answr'"),
    ],
)
def test_check_questions_are_validated(small_catalog: Path, tmp_path: Path, edit, expected: str) -> None:
    path = variant(small_catalog, tmp_path, edit)
    problems = [p for p in problems_of(path) if expected in p.message]
    assert len(problems) == 1 and "check" in str(problems[0])


def test_five_check_questions_are_too_many(small_catalog: Path, tmp_path: Path) -> None:
    extra = "          - question: Is this one question too many?\n            answer: Yes, it is the fifth.\n"
    path = variant(small_catalog, tmp_path, ("        check:\n", "        check:\n" + extra * 3))
    [problem] = problems_of(path)
    assert "at most 4" in problem.message


def test_a_path_leaving_out_a_prerequisite_warns(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, (
        "          - resource: rnn-intro\n            optional: true\n"
        "            why: The LSTM post assumes a plain recurrent network; skip it if you know one.\n", ""))
    [warning] = load_catalog(path).warnings
    assert warning.where.startswith("paths[1] (id: weekend)")
    assert warning.message == "'lstm-explained' builds on 'rnn-intro', which this path leaves out"
    assert "add 'rnn-intro' as an earlier step" in warning.hint


def test_a_topic_taught_only_later_warns(small_catalog: Path, tmp_path: Path) -> None:
    # attention-lecture assumes topic rnn; put it first in the main path (without its resource prerequisite).
    path = variant(small_catalog, tmp_path,
                   ("    prerequisites: [lstm-explained, rnn]\n", "    prerequisites: [rnn]\n"),
                   ("        steps:\n          - resource: rnn-intro\n            why:",
                    "        steps:\n          - resource: attention-lecture\n          - resource: rnn-intro\n"
                    "            why:"),
                   ("          - resource: attention-lecture\n            optional: true\n", "          - resource: lstm-explained\n"))
    messages = [w.message for w in load_catalog(path).warnings]
    assert any(m.startswith("'attention-lecture' assumes topic 'rnn', which this path teaches only later") for m in messages)


def test_a_topic_the_path_never_teaches_is_assumed_silently(small_catalog: Path) -> None:
    # weekend never teaches topic rnn's successor topics; only resources left out warn.
    assert load_catalog(small_catalog).warnings == []


def test_a_stage_of_more_than_six_steps_warns(small_catalog: Path, tmp_path: Path) -> None:
    step = "          - resource: lstm-explained\n"
    path = variant(small_catalog, tmp_path, (step + "        check:", step * 6 + "        check:"))
    messages = [w.message for w in load_catalog(path).warnings]
    assert "has 7 steps; a stage of more than 6 is hard to finish" in messages
