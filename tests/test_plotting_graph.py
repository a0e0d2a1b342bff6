"""Tests of the diagrams in `mmtutorial.plotting`: the computation graph, the backward pass, the
fusion points (chapter 2), and the log axis of `line_chart` (chapter 3b)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from mmtutorial import plotting  # noqa: E402
from mmtutorial._checks import InvalidParameterError  # noqa: E402

ARTICLE = ({"x1": 10, "x2": 10}, {"y1": 10, "y2": 10})


def _texts(fig, axis: int = 0) -> dict:
    return {t.get_text(): t for t in fig.axes[axis].texts if t.get_text()}


def _face(text) -> tuple:
    return tuple(text.get_bbox_patch().get_facecolor()[:3])


def _arrow_colours(fig) -> set[str]:
    arrows = [t.arrow_patch for t in fig.axes[0].texts if getattr(t, "arrow_patch", None)]
    return {matplotlib.colors.to_hex(a.get_edgecolor()) for a in arrows}


def test_article_network_has_one_box_per_layer_with_its_shapes():
    fig = plotting.computation_graph(*ARTICLE)
    boxes = _texts(fig)
    assert len(boxes) == 9
    assert "input x1\n(N, 10)" in boxes and "fusion\nconcat, out (N, 20)" in boxes
    assert "shared\nReLU, out (N, 20)\nW: 20×20" in boxes
    assert "head_y2\nReLU, out (N, 10)\nW: 20×10" in boxes
    assert "layers" in fig.texts[0].get_text()  # the title says what the boxes are
    plt.close(fig)


def test_encoders_add_one_box_per_modality_and_use_modality_colours():
    fig = plotting.computation_graph(
        {"pix": 240, "fou": 76, "mor": 6}, {"digit": 10}, encoder_units=16, head_activation=None
    )
    texts = _texts(fig)
    assert len(texts) == 3 + 3 + 1 + 1 + 1 + 1 + 1
    assert "head_digit\nout (N, 10)\nW: 20×10" in texts
    assert "shared\nReLU, out (N, 20)\nW: 48×20" in texts  # 3 encoders of 16 units feed it
    face = _face(texts["encoder_pix\nReLU, out (N, 16)\nW: 240×16"])
    assert face == pytest.approx(matplotlib.colors.to_rgb(plotting.modality_color("pix")))
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"modality_dims": {}, "head_dims": {"y": 1}}, "modality_dims must be a non-empty dict"),
        ({"modality_dims": {"x1": 1}, "head_dims": {"y": 1}, "shared_units": 0}, "shared_units"),
        ({"modality_dims": {"x1": 1}, "head_dims": {"y": 1}, "head_activation": "tanh"}, "relu"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plotting.computation_graph(**kwargs)


def test_backward_pass_sums_at_the_shared_layer_and_splits_at_the_fusion():
    fig = plotting.backward_pass(*ARTICLE)
    texts = _texts(fig)
    assert any(t.startswith("sum:") for t in texts) and any(t.startswith("split:") for t in texts)
    assert "to x1: columns\n1–10 of $\\partial L/\\partial \\mathbf{z}$" in texts
    assert "to x2: columns\n11–20 of $\\partial L/\\partial \\mathbf{z}$" in texts
    # the split arrows carry each modality's colour; the others are dark grey
    colours = {plotting.modality_color("x1"), plotting.modality_color("x2"), "#333333"}
    assert _arrow_colours(fig) == {c.lower() for c in colours}
    arrows = [t.arrow_patch for t in fig.axes[0].texts if getattr(t, "arrow_patch", None)]
    assert len(arrows) == 2 + 1 + 2 * 2 and all(a.get_linestyle() == "--" for a in arrows)
    plt.close(fig)


def test_backward_pass_rejects_bad_arguments():
    with pytest.raises(InvalidParameterError, match="shared_units"):
        plotting.backward_pass(*ARTICLE, shared_units=-1)


def test_fusion_points_meet_higher_from_early_to_late():
    fig = plotting.fusion_points(("pix", "fou"))
    assert [ax.get_title() for ax in fig.axes] == [
        "early fusion",
        "intermediate fusion",
        "late fusion",
    ]
    heights = []
    for axis in range(3):
        texts = _texts(fig, axis)
        fusion = [t for label, t in texts.items() if label.startswith("fusion")]
        assert len(fusion) == 1 and fusion[0].get_bbox_patch().get_linewidth() == 2.0
        heights.append(fusion[0].get_position()[1])
        pix = _face(texts["input pix"])
        assert pix == pytest.approx(matplotlib.colors.to_rgb(plotting.modality_color("pix")))
    assert heights[0] < heights[1] < heights[2]
    assert "encoder\nfou" in _texts(fig, 1) and "model fou\n(own head)" in _texts(fig, 2)
    plt.close(fig)


@pytest.mark.parametrize("modalities", [("x1",), "x1x2", ()])
def test_fusion_points_needs_two_modalities(modalities):
    with pytest.raises(InvalidParameterError, match="at least two modalities"):
        plotting.fusion_points(modalities)


def test_log_axis_ticks_are_plain_numbers():
    fig = plotting.line_chart(
        {"train": [1.0, 0.3, 0.1, 0.04]}, title="t", xlabel="step", ylabel="loss", logy=True
    )
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ax.get_yscale() == "log"
    assert {"0.05", "0.1", "0.2", "0.5", "1"} <= set(labels)
    assert not any("10^" in label or "times" in label for label in labels)
    assert not [t.get_text() for t in ax.get_yticklabels(minor=True) if t.get_text()]
    plt.close(fig)
