"""Notebook hygiene: what nbval in strict mode cannot see.

nbval passes a notebook with no stored outputs, so this checks that every notebook under book/ was
committed from one clean top-to-bottom run: outputs present, execution counts 1, 2, 3, ..., no
stderr (log noise, warnings), one H1 title, no absolute paths of the machine that ran it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(
    p
    for p in BOOK.rglob("*.ipynb")
    if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
)
H1 = re.compile(r"^# \S", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
LOCAL_PATH = re.compile(r"(/root/|/home/\w|/work/|/tmp/|site-packages)")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _output_text(output: dict) -> str:
    if "text" in output:
        text = output["text"]
    else:
        text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


def hygiene_problems(nb: dict) -> list[str]:
    """Return a list of human-readable problems with a notebook (empty when clean)."""
    problems = []
    code = [c for c in nb.get("cells", []) if c["cell_type"] == "code" and _source(c).strip()]
    if code and not any(c.get("outputs") for c in code):
        problems.append("no stored outputs: run `make notebook NB=...` and commit the result")
    counts = [c.get("execution_count") for c in code]
    if counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts {counts} are not 1, 2, 3, ... (not one clean run)")
    for cell in code:
        for output in cell.get("outputs", []):
            head = _source(cell).strip().splitlines()[0][:50]
            if output.get("name") == "stderr":
                problems.append(f"stderr output in cell {head!r}: {_output_text(output)[:80]!r}")
            if output.get("output_type") == "error":
                problems.append(f"error output in cell {head!r}")
            if LOCAL_PATH.search(_output_text(output)):
                problems.append(f"a local path in the output of cell {head!r}")
    markdown = "\n".join(_source(c) for c in nb.get("cells", []) if c["cell_type"] == "markdown")
    n_h1 = len(H1.findall(FENCE.sub("", markdown)))
    if n_h1 != 1:
        problems.append(f"{n_h1} H1 titles, expected exactly 1")
    return problems


def test_book_has_notebooks():
    assert NOTEBOOKS, f"no notebooks found under {BOOK}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_clean(path: Path):
    problems = hygiene_problems(json.loads(path.read_text(encoding="utf-8")))
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def _nb(cells: list[dict]) -> dict:
    return {"cells": cells}


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "source": text}


def _code(src: str, count: int | None, outputs: list[dict] | None = None) -> dict:
    return {"cell_type": "code", "source": src, "execution_count": count, "outputs": outputs or []}


def _stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_a_clean_notebook_passes():
    nb = _nb([_md("# Title\n## Part"), _code("print(1)", 1, [_stdout("1\n")]), _code("x = 2", 2)])
    assert hygiene_problems(nb) == []


@pytest.mark.parametrize(
    ("nb", "expected"),
    [
        (_nb([_md("# T"), _code("print(1)", None), _code("x = 1", None)]), "no stored outputs"),
        (_nb([_md("# T"), _code("print(1)", 2, [_stdout("1\n")])]), "execution counts"),
        (
            _nb(
                [
                    _md("# T"),
                    _code("import x", 1, [{**_stdout("I0000 log"), "name": "stderr"}]),
                ]
            ),
            "stderr output",
        ),
        (_nb([_md("# T\n\n# U"), _code("print(1)", 1, [_stdout("1\n")])]), "2 H1 titles"),
        (_nb([_md("## no title"), _code("print(1)", 1, [_stdout("1\n")])]), "0 H1 titles"),
        (_nb([_md("# T"), _code("print(p)", 1, [_stdout("/root/x.npz\n")])]), "local path"),
    ],
    ids=["no-outputs", "counts", "stderr", "two-h1", "no-h1", "local-path"],
)
def test_each_kind_of_dirty_notebook_is_caught(nb: dict, expected: str):
    assert any(expected in p for p in hygiene_problems(nb)), hygiene_problems(nb)


def test_a_comment_in_a_code_fence_is_not_an_h1():
    nb = _nb([_md("# T\n\n```python\n# a comment\n```"), _code("print(1)", 1, [_stdout("1\n")])])
    assert hygiene_problems(nb) == []
