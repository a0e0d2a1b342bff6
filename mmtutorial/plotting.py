"""Every figure the book shows, in one consistent style (chapters 1, 2, 3b, 4, 5 and 6 use it).

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
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ._checks import InvalidParameterError, check_choice, check_dims, check_int

__all__ = [
    "PALETTE",
    "backward_pass",
    "bar_chart",
    "computation_graph",
    "fusion_points",
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
        Use a logarithmic y axis (for losses that fall by orders of magnitude), its ticks
        written as plain numbers (``0.05``, ``0.1``, ``0.2``), not powers of ten.
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
        _log_axis(ax)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False)
    return ax.figure


def _log_axis(ax: Axes) -> None:
    """A logarithmic y axis with ticks at 1, 2, 5 per decade, written as plain numbers (0.05)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


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


class _Canvas:
    """Boxes (layers) and arrows on an axes spanning the unit square: the diagrams' drawing kit."""

    def __init__(self, ax: Axes):
        ax.set_axis_off()
        ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.0))
        self.ax = ax

    def box(self, x: float, y: float, text: str, color: str | None = None, bold: bool = False):
        fill = to_rgba(color, 0.35) if color else "#EEEEEE"
        style = dict(boxstyle="round,pad=0.4", facecolor=fill, edgecolor="#333333")
        style["linewidth"] = 2.0 if bold else 1.0
        return self.ax.text(x, y, text, ha="center", va="center", fontsize=7.5, bbox=style)

    def arrow(self, start, end, *, up: bool = False, back: bool = False, color: str = "#333333"):
        """Arrow from box ``start`` to box ``end``: rightwards, upwards, or leftwards (``back``)."""
        tail, head = ((0.5, 1.0), (0.5, 0.0)) if up else ((1.0, 0.5), (0.0, 0.5))
        if back:
            tail, head = (0.0, 0.5), (1.0, 0.5)
        props = dict(arrowstyle="->", color=color, lw=1.6 if back else 1.0, shrinkA=4, shrinkB=4)
        props["linestyle"] = "--" if back else "-"
        self.ax.annotate("", xy=head, xycoords=end, xytext=tail, textcoords=start, arrowprops=props)

    def note(self, x: float, y: float, text: str, color: str = "#333333"):
        return self.ax.text(x, y, text, ha="center", va="center", fontsize=7.5, color=color)


def _rows(n: int) -> list[float]:
    return [0.5] if n == 1 else list(np.linspace(0.85, 0.15, n))


def _layer(name: str, activation: str | None, n_out: int, n_in: int) -> str:
    """A layer box's text: its name, what it computes and its output shape, its weights' shape."""
    act = f"{activation}, " if activation else ""
    return f"{name}\n{act}out (N, {n_out})\nW: {n_in}×{n_out}"


def computation_graph(
    modality_dims: Mapping[str, int],
    head_dims: Mapping[str, int],
    *,
    shared_units: int = 20,
    encoder_units: int | None = None,
    head_activation: str | None = "relu",
    title: str = "Computation graph: boxes are layers, arrows carry values",
) -> Figure:
    """Draw a multimodal network as a computation graph, left to right: layers and their shapes.

    Each box is a *layer* (or an input, or a loss): its name, what it computes, the shape of its
    output for a batch of ``N`` samples and the shape of its weight matrix. Each arrow carries a
    value (an array) from one layer to the next. Inputs and encoders are drawn in their
    modality's colour (:func:`modality_color`); then come the concatenation (the fusion layer),
    the shared ReLU layer, one head and one loss per output, and the total loss ``L``.
    Backpropagation runs along the same arrows in reverse (:func:`backward_pass`), so a modality
    is reached only through the fusion box.

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
    >>> len(boxes)  # 2 inputs, fusion, shared, 2 heads, 2 losses, total
    9
    >>> print(boxes[0])
    fusion
    concat, out (N, 20)
    """
    check_choice("head_activation", head_activation, ("relu", None))
    modality_dims = check_dims("modality_dims", modality_dims)
    head_dims = check_dims("head_dims", head_dims)
    shared_units = check_int("shared_units", shared_units, low=1)
    if encoder_units is not None:
        encoder_units = check_int("encoder_units", encoder_units, low=1)
    fig = plt.figure(figsize=(8.0, 1.2 + 0.9 * max(len(modality_dims), len(head_dims))))
    canvas = _Canvas(fig.add_axes((0.0, 0.0, 1.0, 0.88)))
    fig.suptitle(title)
    xs = iter(np.linspace(0.06, 0.94, 7 if encoder_units else 6))
    x_in = next(xs)
    x_enc = next(xs) if encoder_units else None
    x_fuse, x_shared, x_head, x_loss, x_total = (next(xs) for _ in range(5))
    fused = (
        sum(modality_dims.values()) if encoder_units is None else encoder_units * len(modality_dims)
    )
    fuse = canvas.box(x_fuse, 0.5, f"fusion\nconcat, out (N, {fused})")
    for i, (m, y) in enumerate(zip(modality_dims, _rows(len(modality_dims)), strict=True)):
        node = canvas.box(x_in, y, f"input {m}\n(N, {modality_dims[m]})", modality_color(m, i))
        if x_enc is not None:
            text = _layer(f"encoder_{m}", "ReLU", encoder_units, modality_dims[m])
            encoder = canvas.box(x_enc, y, text, modality_color(m, i))
            canvas.arrow(node, encoder)
            node = encoder
        canvas.arrow(node, fuse)
    shared = canvas.box(x_shared, 0.5, _layer("shared", "ReLU", shared_units, fused))
    canvas.arrow(fuse, shared)
    total = canvas.box(x_total, 0.5, "total loss\n$L = \\Sigma_i\\, L_i$")
    activation = "ReLU" if head_activation == "relu" else None
    for i, (h, y) in enumerate(zip(head_dims, _rows(len(head_dims)), strict=True)):
        head = canvas.box(x_head, y, _layer(f"head_{h}", activation, head_dims[h], shared_units))
        loss = canvas.box(x_loss, y, f"loss $L_{i + 1}$\n({h})")
        canvas.arrow(shared, head)
        canvas.arrow(head, loss)
        canvas.arrow(loss, total)
    return fig


def backward_pass(
    modality_dims: Mapping[str, int],
    head_dims: Mapping[str, int],
    *,
    shared_units: int = 20,
    title: str = "Backward pass: gradients sum at the shared layer, split at the fusion",
) -> Figure:
    """Draw backpropagation through an early-fusion network (the article's), right to left.

    Dashed arrows carry gradients from each loss back through its head into the shared layer,
    where the heads' contributions **sum**
    (:math:`\\partial L/\\partial \\mathbf{h} = \\sum_i \\partial L_i/\\partial \\mathbf{h}`);
    the gradient of the fused vector then **splits** at the concatenation: each modality gets
    the columns of its own features, drawn in its colour (:func:`modality_color`).

    Examples
    --------
    >>> fig = backward_pass({"x1": 10, "x2": 10}, {"y1": 10, "y2": 10})
    >>> [t.get_text().split(":")[0] for t in fig.axes[0].texts if t.get_text().startswith("s")]
    ['split', 'shared\\nReLU, out (N, 20)\\nW', 'sum']
    """
    modality_dims = check_dims("modality_dims", modality_dims)
    head_dims = check_dims("head_dims", head_dims)
    shared_units = check_int("shared_units", shared_units, low=1)
    fig = plt.figure(figsize=(8.0, 1.6 + 0.9 * max(len(modality_dims), len(head_dims))))
    canvas = _Canvas(fig.add_axes((0.0, 0.0, 1.0, 0.88)))
    fig.suptitle(title)
    x_in, x_fuse, x_shared, x_head, x_loss = np.linspace(0.07, 0.93, 5)
    fused = sum(modality_dims.values())
    fuse = canvas.box(x_fuse, 0.5, f"fusion\nconcat, out (N, {fused})")
    canvas.note(x_fuse, 0.18, "split: each modality\ngets its own columns")
    first = 1
    for i, (m, y) in enumerate(zip(modality_dims, _rows(len(modality_dims)), strict=True)):
        color = modality_color(m, i)
        node = canvas.box(x_in, y, f"input {m}\n(N, {modality_dims[m]})", color)
        canvas.arrow(fuse, node, back=True, color=color)
        last = first + modality_dims[m] - 1
        label = f"to {m}: columns\n{first}–{last} of $\\partial L/\\partial \\mathbf{{z}}$"
        canvas.note(x_in + 0.02, y - 0.22 * np.sign(y - 0.5), label, color)
        first = last + 1
    shared = canvas.box(x_shared, 0.5, _layer("shared", "ReLU", shared_units, fused))
    canvas.arrow(shared, fuse, back=True)
    canvas.note(
        (x_fuse + x_shared) / 2, 0.6, f"$\\partial L/\\partial \\mathbf{{z}}$\n(N, {fused})"
    )
    canvas.note(
        x_shared,
        0.18,
        "sum: $\\partial L/\\partial \\mathbf{h}$\n"
        "$= \\Sigma_i\\,\\partial L_i/\\partial \\mathbf{h}$",
    )
    for i, (h, y) in enumerate(zip(head_dims, _rows(len(head_dims)), strict=True)):
        head = canvas.box(x_head, y, _layer(f"head_{h}", "ReLU", head_dims[h], shared_units))
        loss = canvas.box(x_loss, y, f"loss $L_{i + 1}$\n({h})")
        canvas.arrow(loss, head, back=True)
        canvas.arrow(head, shared, back=True)
        label = f"$\\partial L_{i + 1}/\\partial \\mathbf{{h}}$"
        canvas.note((x_shared + x_head) / 2 + 0.02, y + 0.08 * np.sign(y - 0.5), label)
    return fig


#: What each fusion point's diagram stacks, bottom to top (``{m}`` is filled per modality).
_FUSION_ROWS = {
    "early fusion": ["input {m}", "fusion:\nconcat", "shared\nlayer", "head", "prediction"],
    "intermediate fusion": [
        "input {m}", "encoder\n{m}", "fusion:\nconcat", "shared layer\n+ head", "prediction",
    ],
    "late fusion": [
        "input {m}", "model {m}\n(own head)", "prediction\nof {m}", "fusion:\naverage",
        "prediction",
    ],
}  # fmt: skip


def fusion_points(
    modalities: Sequence[str] = ("x1", "x2"), *, title: str = "Where the modalities meet"
) -> Figure:
    """Early, intermediate and late fusion side by side, inputs at the bottom, prediction on top.

    In each panel the fusion box (framed in bold) is where the modalities meet: on the raw
    features (early), on their encodings (intermediate), or on each modality's own prediction
    (late). Everything below it is drawn in the modality's colour (:func:`modality_color`).

    Examples
    --------
    >>> fig = fusion_points(("pix", "fou"))
    >>> [ax.get_title() for ax in fig.axes]
    ['early fusion', 'intermediate fusion', 'late fusion']
    """
    if isinstance(modalities, str) or len(modalities) < 2:
        raise InvalidParameterError(
            f"modalities must name at least two modalities, got {modalities!r}"
        )
    fig, axes = plt.subplots(1, 3, figsize=(8.0, 3.6), layout="constrained")
    fig.suptitle(title)
    heights = np.linspace(0.08, 0.92, 5)
    for ax, (name, rows) in zip(axes, _FUSION_ROWS.items(), strict=True):
        canvas = _Canvas(ax)
        ax.set_title(name)
        fused_row = next(r for r, text in enumerate(rows) if text.startswith("fusion"))
        below = [np.linspace(0.25, 0.75, len(modalities))] * fused_row
        lanes = [*below, *[[0.5]] * (len(rows) - fused_row)]
        previous = None
        for row, (text, xs, y) in enumerate(zip(rows, lanes, heights, strict=True)):
            boxes = []
            for i, x in enumerate(xs):
                m = modalities[i] if len(xs) > 1 else None
                color = modality_color(m, i) if m else None
                label = text.format(m=m) if m else text
                boxes.append(canvas.box(x, y, label, color, bold=row == fused_row))
            if previous is not None:
                for j, box in enumerate(boxes):
                    sources = previous if len(boxes) == 1 else [previous[j]]
                    for source in sources:
                        canvas.arrow(source, box, up=True)
            previous = boxes
    return fig
