"""SVG figures drawn from runnable/: well-formed, the right number of cells, honest content."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from learnpath.site import figures
from runnable.train_toy import ToySettings, train

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{SVG}title") is not None
    return root


def cells(root: ET.Element, cls: str = "cell") -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == cls]


def test_heatmap_has_one_cell_per_entry_and_a_colour_scale():
    m = np.arange(12.0).reshape(3, 4)
    root = parse(figures.heatmap_svg(m, title="t <&>", x_label="x", y_label="y"))
    rects = cells(root)
    assert len(rects) == 12
    # Row-major order, lowest value darkest (first anchor), highest the last anchor.
    assert rects[0].get("fill") == figures.SEQUENTIAL[0]
    assert rects[-1].get("fill") == figures.SEQUENTIAL[-1]
    assert len(cells(root, "scale")) == 32
    assert root.find(f"{SVG}title").text == "t <&>"  # escaped in the file, intact when parsed


def test_diverging_heatmap_centres_zero_on_white():
    root = parse(figures.heatmap_svg(np.array([[-2.0, 0.0, 2.0]]), title="t", x_label="x", y_label="y", diverging=True))
    assert [r.get("fill") for r in cells(root)] == [figures.DIVERGING[0], figures.DIVERGING[2], figures.DIVERGING[-1]]


def test_line_chart_has_one_point_per_value():
    root = parse(figures.line_chart_svg([1, 2, 3, 4], [1.0, 0.5, 0.1, 0.01], title="t", x_label="x", y_label="y", log_y=True))
    (line,) = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "series"]
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(points) == 4
    ys = [y for _, y in points]
    assert ys == sorted(ys)  # falling loss: SVG y grows downwards


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((0, 2))])
def test_bad_heatmap_input_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="2-D"):
        figures.heatmap_svg(bad, title="t", x_label="x", y_label="y")


def test_positional_encoding_figure():
    root = parse(figures.positional_encoding_figure(n_positions=10, d_model=8))
    assert len(cells(root)) == 80


def test_attention_and_training_figures(monkeypatch):
    """Drawn from a (shortened) real training run: 10 x 10 attention cells, one loss point per step."""
    run = train(ToySettings(seed=0, max_steps=25, test_size=10))
    monkeypatch.setattr(figures, "toy_run", lambda: run)
    attention = parse(figures.attention_figure())
    assert len(cells(attention)) == 100
    src = np.random.default_rng(0).integers(0, 10, (2, 10))
    weights = figures.cross_attention(src, run.params, run.config)
    assert weights.shape == (2, run.config.n_heads, 10, 10)
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-5)
    curve = parse(figures.training_curve_figure())
    (line,) = [p for p in curve.iter(f"{SVG}polyline") if p.get("class") == "series"]
    assert len(line.get("points").split()) == 25
