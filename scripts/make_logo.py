"""Draw the book's logo and favicon: two modalities fused into a shared layer feeding two heads.

Run from the repository root: ``.venv/bin/python scripts/make_logo.py``. It writes
``book/_static/logo.png`` and ``book/_static/favicon.ico`` (both committed).
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

STATIC = Path(__file__).resolve().parent.parent / "book" / "_static"

# Okabe-Ito colour-blind-safe palette: one colour per modality, grey for the shared layer.
MODALITY_COLOURS = ["#0072B2", "#E69F00"]
SHARED_COLOUR = "#555555"
HEAD_COLOUR = "#009E73"
GRADIENT_COLOUR = "#D55E00"

# (x, y) of each node: two inputs -> one fused layer -> two heads.
INPUTS = [(0.15, 0.72), (0.15, 0.28)]
SHARED = (0.5, 0.5)
HEADS = [(0.85, 0.72), (0.85, 0.28)]


def draw(size_inches: float, with_gradient: bool) -> plt.Figure:
    """The network on a transparent square canvas; ``with_gradient`` adds the backward arrow."""
    fig = plt.figure(figsize=(size_inches, size_inches))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    for x, y in INPUTS + HEADS:
        ax.plot([x, SHARED[0]], [y, SHARED[1]], color=SHARED_COLOUR, lw=6, zorder=1)
    for (x, y), colour in zip(INPUTS, MODALITY_COLOURS, strict=True):
        ax.add_patch(plt.Circle((x, y), 0.12, color=colour, zorder=2))
    ax.add_patch(plt.Circle(SHARED, 0.15, color=SHARED_COLOUR, zorder=2))
    for x, y in HEADS:
        ax.add_patch(plt.Circle((x, y), 0.12, color=HEAD_COLOUR, zorder=2))
    if with_gradient:
        ax.annotate(
            "",
            xy=(0.2, 0.05),
            xytext=(0.8, 0.05),
            arrowprops={
                "arrowstyle": "-|>",
                "color": GRADIENT_COLOUR,
                "lw": 5,
                "mutation_scale": 30,
            },
        )
    return fig


def render(fig: plt.Figure, dpi: int) -> Image.Image:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, transparent=True)
    plt.close(fig)
    buffer.seek(0)
    return Image.open(buffer).convert("RGBA")


def main() -> None:
    STATIC.mkdir(parents=True, exist_ok=True)
    render(draw(2.0, with_gradient=True), dpi=100).save(STATIC / "logo.png", optimize=True)
    icon = render(draw(0.64, with_gradient=False), dpi=100)  # 64 x 64 px
    icon.save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    print(f"wrote {STATIC / 'logo.png'} and {STATIC / 'favicon.ico'}")


if __name__ == "__main__":
    main()
