"""Tests of `mmtutorial.plotting.computation_graph`, the chapter 2 network drawing."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from mmtutorial import plotting  # noqa: E402


def _boxes(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts if t.get_text()]


def test_article_network_has_one_box_per_value():
    fig = plotting.computation_graph({"x1": 10, "x2": 10}, {"y1": 10, "y2": 10})
    boxes = _boxes(fig)
    assert len(boxes) == 9
    assert "x1\n(10)" in boxes and "shared\n20, ReLU" in boxes and "head_y2\n10, ReLU" in boxes
    plt.close(fig)


def test_encoders_add_one_box_per_modality_and_use_modality_colours():
    fig = plotting.computation_graph(
        {"pix": 240, "fou": 76, "mor": 6}, {"digit": 10}, encoder_units=16, head_activation=None
    )
    texts = {t.get_text(): t for t in fig.axes[0].texts if t.get_text()}
    assert len(texts) == 3 + 3 + 1 + 1 + 1 + 1 + 1
    assert "head_digit\n10" in texts
    face = texts["encoder_pix\n16, ReLU"].get_bbox_patch().get_facecolor()
    assert face[:3] == pytest.approx(matplotlib.colors.to_rgb(plotting.modality_color("pix")))
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"modality_dims": {}, "head_dims": {"y": 1}}, "modality_dims must be a non-empty dict"),
        ({"modality_dims": {"a": 1}, "head_dims": {"y": 1}, "shared_units": 0}, "shared_units"),
        ({"modality_dims": {"a": 1}, "head_dims": {"y": 1}, "head_activation": "tanh"}, "relu"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plotting.computation_graph(**kwargs)
