"""The import examples of README.md and the book's front page run and print what they promise."""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "book" / "intro.md"]
PYTHON_BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_import_example_runs_and_the_gradients_check(page: Path):
    blocks = [textwrap.dedent(code) for _, code in PYTHON_BLOCK.findall(page.read_text())]
    assert blocks, f"{page.name} has no python example"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], f"<{page.name} example>", "exec"), {})
    match = re.fullmatch(r"worst relative error: (\S+)\n", out.getvalue())
    assert match, f"{page.name}'s example printed {out.getvalue()!r}"
    assert float(match.group(1)) <= 1e-7
