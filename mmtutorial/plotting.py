"""Every figure the book shows, in one consistent style (all chapters use it).

Colours come from the Okabe-Ito palette, which stays distinguishable with colour-blindness; a
modality keeps the same colour in every figure of the book (:func:`modality_color`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from ._checks import InvalidParameterError, check_choice, check_dims, check_int

__all__ = [
    "PALETTE",
    "bar_chart",
    "computation_graph",
    "image_grid",
    "line_chart",
    "modality_color",
    "new_figure",
]

#: Okabe & Ito (2008) colour-blind-safe palette, black last.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

#: Fixed colours for the modality names the book uses, so a view looks the same everywhere.
_NAMED = {
    "pix": PALETTE[0], "x1": PALETTE[0], "a": PALETTE[0],
    "fou": PALETTE[1], "x2": PALETTE[1], "b": PALETTE[1],
    "kar": PALETTE[2], "c": PALETTE[2],
    "zer": PALETTE[3],
    "mor": PALETTE[4],
    "fused": PALETTE[7], "fusion": PALETTE[7],
}  # fmt: skip


def modality_color(name: str, index: int = 0) -> str:
    """Return the colour of a modality (or of ``"fused"``); unknown names cycle the palette.

    Examples
    --------
    >>> modality_color("pix")
    '#0072B2'
    """
    return _NAMED.get(name, PALETTE[index % len(PALETTE)])


def new_figure(
    width: float = 6.4, height: float = 3.6, ncols: int = 1
) -> tuple[Figure, np.ndarray]:
    """Create a figure sized for the book's column width; returns ``(figure, axes array)``.

    Examples
    --------
    >>> fig, axes = new_figure(ncols=2)
    >>> axes.shape
    (2,)
    """
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.grid(True, alpha=0.3)
    return fig, axes.ravel()


def line_chart(
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Plot named curves (e.g. loss per step) against their index.

    Parameters
    ----------
    series : mapping of str to sequence of float
        Label → values; the label picks the colour (:func:`modality_color`).
    title, xlabel, ylabel : str
        Figure title and axis labels (with units).
    logy : bool
        Use a logarithmic y axis (for losses that fall by orders of magnitude).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Examples
    --------
    >>> fig = line_chart({"train": [1.0, 0.5, 0.25]}, title="t", xlabel="step", ylabel="loss")
    """
    if not series:
        raise InvalidParameterError("series must name at least one curve, got an empty mapping")
    if ax is None:
        _, axes = new_figure()
        ax = axes[0]
    for i, (label, values) in enumerate(series.items()):
        ax.plot(
            np.arange(len(values)), np.asarray(values), label=label, color=modality_color(label, i)
        )
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False)
    return ax.figure


def bar_chart(
    values: Mapping[str, float],
    *,
    title: str,
    ylabel: str,
    ylim: tuple[float, float] | None = None,
    fmt: str = "{:.3f}",
    ax: Axes | None = None,
) -> Figure:
    """Bar chart of named values (e.g. test accuracy per view), each bar labelled with its value.

    Examples
    --------
    >>> fig = bar_chart({"pix": 0.9, "fused": 0.95}, title="t", ylabel="accuracy")
    """
    if not values:
        raise InvalidParameterError("values must name at least one bar, got an empty mapping")
    if ax is None:
        _, axes = new_figure()
        ax = axes[0]
    names = list(values)
    heights = [float(values[n]) for n in names]
    colors = [modality_color(n, i) for i, n in enumerate(names)]
    bars = ax.bar(names, heights, color=colors)
    ax.bar_label(bars, labels=[fmt.format(h) for h in heights], padding=2)
    ax.set(title=title, ylabel=ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(True, axis="y", alpha=0.3)
    ax.grid(False, axis="x")
    return ax.figure


def image_grid(
    images: np.ndarray,
    labels: Sequence[object],
    *,
    title: str,
    ncols: int = 10,
    cmap: str = "gray_r",
) -> Figure:
    """Show images of shape ``(n, height, width)`` in a grid, each titled with its label.

    Examples
    --------
    >>> fig = image_grid(np.zeros((2, 16, 15)), [0, 1], title="digits")
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise InvalidParameterError(
            f"images must have shape (n, height, width), got shape {images.shape}"
        )
    if len(labels) != len(images):
        raise InvalidParameterError(
            f"labels must have one entry per image ({len(images)}), got {len(labels)}"
        )
    ncols = check_int("ncols", ncols, low=1)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(0.65 * ncols, 0.8 * nrows + 0.4), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, label in zip(axes.ravel(), images, labels, strict=False):
        ax.imshow(image, cmap=cmap)
        ax.set_title(str(label), fontsize=8)
    fig.suptitle(title)
    return fig


def computation_graph(
    modality_dims: Mapping[str, int],
    head_dims: Mapping[str, int],
    *,
    shared_units: int = 20,
    encoder_units: int | None = None,
    head_activation: str | None = "relu",
    title: str = "Computation graph",
) -> Figure:
    """Draw a multimodal network as a computation graph, left to right, with boxes and arrows.

    Each modality's input (in its colour, :func:`modality_color`), its encoder (if
    ``encoder_units``), the concatenation (the fusion layer), the shared ReLU layer, one head and
    one loss per output, and the total loss ``L``. Arrows show the forward pass; backpropagation
    runs along the same arrows in reverse, so a modality is reached only through the fusion box.

    Parameters
    ----------
    modality_dims : mapping of str to int
        Modality name -> number of input features, in fusion order.
    head_dims : mapping of str to int
        Head name -> output width.
    shared_units : int, default 20
        Width of the shared layer.
    encoder_units : int or None, default None
        Width of each modality's encoder; ``None`` draws the article's network (no encoders).
    head_activation : {"relu", None}, default "relu"
        Activation written in the head boxes.
    title : str
        Figure title.

    Examples
    --------
    >>> fig = computation_graph({"x1": 10, "x2": 10}, {"y1": 10, "y2": 10})
    >>> boxes = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    >>> len(boxes)  # 2 inputs, concat, shared, 2 heads, 2 losses, total
    9
    """
    check_choice("head_activation", head_activation, ("relu", None))
    modality_dims = check_dims("modality_dims", modality_dims)
    head_dims = check_dims("head_dims", head_dims)
    shared_units = check_int("shared_units", shared_units, low=1)
    if encoder_units is not None:
        encoder_units = check_int("encoder_units", encoder_units, low=1)
    n_rows = max(len(modality_dims), len(head_dims))
    fig = plt.figure(figsize=(8.0, 1.0 + 0.8 * n_rows))
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.88))
    fig.suptitle(title)
    ax.set_axis_off()
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.0))
    xs = iter(np.linspace(0.07, 0.93, 7 if encoder_units else 6))

    def rows(n: int) -> list[float]:
        return [0.5] if n == 1 else list(np.linspace(0.85, 0.15, n))

    def box(x: float, y: float, text: str, color: str = "#EEEEEE"):
        fill = to_rgba(color, 0.35 if color != "#EEEEEE" else 1.0)
        style = dict(boxstyle="round,pad=0.4", facecolor=fill, edgecolor="#333333")
        return ax.text(x, y, text, ha="center", va="center", fontsize=8, bbox=style)

    def arrow(start, end) -> None:
        ax.annotate(
            "", xy=(0.0, 0.5), xycoords=end, xytext=(1.0, 0.5), textcoords=start,
            arrowprops=dict(arrowstyle="->", color="#333333", lw=1.0, shrinkA=5, shrinkB=5),
        )  # fmt: skip

    x_in = next(xs)
    x_enc = next(xs) if encoder_units else None
    x_fuse, x_shared, x_head, x_loss, x_total = (next(xs) for _ in range(5))
    fuse = box(x_fuse, 0.5, "concat\n(fusion)")
    for i, (m, y) in enumerate(zip(modality_dims, rows(len(modality_dims)), strict=True)):
        node = box(x_in, y, f"{m}\n({modality_dims[m]})", modality_color(m, i))
        if x_enc is not None:
            encoder = box(x_enc, y, f"encoder_{m}\n{encoder_units}, ReLU", modality_color(m, i))
            arrow(node, encoder)
            node = encoder
        arrow(node, fuse)
    shared = box(x_shared, 0.5, f"shared\n{shared_units}, ReLU")
    arrow(fuse, shared)
    total = box(x_total, 0.5, "total\n$L = \\Sigma_i\\, L_i$")
    activation = ", ReLU" if head_activation == "relu" else ""
    for i, (h, y) in enumerate(zip(head_dims, rows(len(head_dims)), strict=True)):
        head = box(x_head, y, f"head_{h}\n{head_dims[h]}{activation}")
        loss = box(x_loss, y, f"$L_{i + 1}$\n({h})")
        arrow(shared, head)
        arrow(head, loss)
        arrow(loss, total)
    return fig
