"""The project's own resources.yaml passes the validator it ships with."""

from __future__ import annotations

from learnpath.catalog import load_catalog
from tests.conftest import ROOT

CATALOG = ROOT / "resources.yaml"
# Fixed across the project: content pages, the site and runnable code use them
# (new topics may be added; these must stay).
TOPIC_IDS = {"foundations", "tokenization", "embeddings", "rnn", "lstm", "seq2seq", "attention", "self-attention",
             "positional-encoding", "transformer", "bert", "gpt", "vision-transformer"}


def test_resources_yaml_is_valid_and_unchanged() -> None:
    before = CATALOG.read_bytes()
    loaded = load_catalog(CATALOG)
    assert CATALOG.read_bytes() == before
    assert TOPIC_IDS <= {t.id for t in loaded.catalog.topics}
    assert {"transformers-from-scratch", "weekend"} <= {p.id for p in loaded.catalog.paths}


def test_resources_yaml_points_editors_at_the_schema() -> None:
    first_line = CATALOG.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=schema/resources.schema.json"
