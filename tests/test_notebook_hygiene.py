"""Notebook hygiene: what nbval in strict mode cannot see.

nbval passes a notebook with no stored outputs, so this checks that every notebook under book/ was
committed from one clean top-to-bottom run: outputs present, execution counts 1, 2, 3, ..., no
stderr (log noise, warnings), one H1 title, no absolute paths of the machine that ran it.

It also enforces the book's output rule: **a stored output shows only what any IEEE-754 machine
reproduces with the pinned versions** (``make nbval-portable`` runs every notebook again under
another BLAS kernel, oneDNN and one thread to catch what slips through):

- rounding-level quantities (gradient-check errors, the difference between two computations of the
  same thing, anything below about 1e-6 relative) are printed as bounds, ``worst relative error
  below 1e-8``, with the exact comparison asserted in the same cell. A printed number whose
  magnitude is below 1e-6 fails here unless a bound word or sign (below, under, <, ≤, ...) comes
  right before it (``agree to 1e-14``); so does a number with more than 6 significant digits
  (``0.30000000000000004``);
- losses and accuracies are rounded to what the sentence using them needs (often 3 digits);
- timings only in cells with the cell tag ``nbval-ignore-output`` (this check skips those cells),
  together with the tag ``timing``: a cell ignored for any other reason fails here. What moves
  between machines is printed at a precision that survives, never ignored;
- every decimal number the prose quotes (markdown cells and figures' alt text) appears in an output
  or the code of its page, so regenerating a notebook cannot leave its prose behind
  (``test_prose_quotes_only_numbers_its_page_prints``).

Never silence a cell that carries a claim with that tag or a sanitizer regex: make what it prints
stable instead. Cell tags, not ``# NBVAL_...`` comments (which would show on the rendered page):
a code cell whose source carries such a comment fails here.
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
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
BOUND = re.compile(
    r"(?:<|≤|\b(?:below|under|less than|smaller than|at most|within|to))\s*$", re.IGNORECASE
)
IGNORED = "nbval-ignore-output"  # the cell tag nbval reads
TIMING = "timing"  # the only reason for IGNORED
NBVAL_COMMENT = re.compile(r"#\s*NBVAL", re.IGNORECASE)


def unstable_numbers(text: str) -> list[str]:
    """Return the numbers in ``text`` that another CPU may print differently.

    Those are numbers of magnitude below 1e-6 (rounding level), unless written as a bound (a bound
    word or sign right before them), and numbers with more than 6 significant digits.
    """
    found = []
    for match in NUMBER.finditer(text):
        token = match.group(0)
        mantissa = re.split("[eE]", token)[0].lstrip("+-")
        digits = mantissa.replace(".", "").lstrip("0")
        value = abs(float(token))
        tiny = 0 < value < 1e-6 and not BOUND.search(text[: match.start()])
        long = "." in mantissa and len(digits) > 6
        if tiny or long:
            found.append(token)
    return found


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
        head = _source(cell).strip().splitlines()[0][:50]
        if NBVAL_COMMENT.search(_source(cell)):
            problems.append(
                f"a '# NBVAL' comment in cell {head!r}: use the cell tag "
                "'nbval-ignore-output' or 'raises-exception' instead (comments show on the page)"
            )
        ignored = IGNORED in cell.get("metadata", {}).get("tags", [])
        if ignored and TIMING not in cell.get("metadata", {}).get("tags", []):
            problems.append(
                f"cell {head!r} is tagged {IGNORED!r} without {TIMING!r}: only timings are not "
                "compared; print a result that moves between machines at a precision that "
                "survives, or as an asserted bound"
            )
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr":
                problems.append(f"stderr output in cell {head!r}: {_output_text(output)[:80]!r}")
            raises = "raises-exception" in cell.get("metadata", {}).get("tags", [])
            if output.get("output_type") == "error" and not raises:
                problems.append(f"error output in cell {head!r}")
            if LOCAL_PATH.search(_output_text(output)):
                problems.append(f"a local path in the output of cell {head!r}")
            unstable = [] if ignored else unstable_numbers(_output_text(output))
            if unstable:
                problems.append(
                    f"rounding-level numbers {unstable[:3]} in the output of cell {head!r}: "
                    "print a bound (e.g. 'below 1e-8') and assert the exact value"
                )
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


def _code(
    src: str, count: int | None, outputs: list[dict] | None = None, tags: list[str] | None = None
) -> dict:
    cell = {"cell_type": "code", "source": src, "execution_count": count, "outputs": outputs or []}
    return {**cell, "metadata": {"tags": tags or []}}


def _stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _result(text: str) -> dict:
    return {"output_type": "execute_result", "data": {"text/plain": text}}


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
        (_nb([_md("# T"), _code("print(e)", 1, [_stdout("error 3.1e-09\n")])]), "rounding-level"),
        (_nb([_md("# T"), _code("print(e)", 1, [_stdout("gap 6e-08\n")])]), "rounding-level"),
        (_nb([_md("# T"), _code("print(e)", 1, [_stdout("auto 6e-08\n")])]), "rounding-level"),
        (_nb([_md("# T"), _code("print(e)", 1, [_stdout("gap 0.00000012\n")])]), "rounding-level"),
        (_nb([_md("# T"), _code("e", 1, [_result("2.5E-12")])]), "rounding-level"),
        (_nb([_md("# T"), _code("print(x)", 1, [_stdout("0.30000000000000004\n")])]), "rounding"),
        (_nb([_md("# T"), _code("print(x)", 1, [_stdout("loss 1.2345678\n")])]), "rounding"),
        (_nb([_md("# T"), _code("# NBVAL_IGNORE_OUTPUT\nt", 1, [_stdout("1\n")])]), "'# NBVAL'"),
        (_nb([_md("# T"), _code("x = 1  # NBVAL_SKIP", 1, [_stdout("1\n")])]), "'# NBVAL'"),
    ],
    ids=[
        "no-outputs",
        "counts",
        "stderr",
        "two-h1",
        "no-h1",
        "local-path",
        "tiny-mantissa",
        "tiny-one-digit",
        "not-a-bound-word",
        "tiny-fixed",
        "tiny-result",
        "float64-repr",
        "seven-digits",
        "nbval-comment",
        "nbval-comment-inline",
    ],
)
def test_each_kind_of_dirty_notebook_is_caught(nb: dict, expected: str):
    assert any(expected in p for p in hygiene_problems(nb)), hygiene_problems(nb)


def test_a_comment_in_a_code_fence_is_not_an_h1():
    nb = _nb([_md("# T\n\n```python\n# a comment\n```"), _code("print(1)", 1, [_stdout("1\n")])])
    assert hygiene_problems(nb) == []


@pytest.mark.parametrize(
    "text",
    [
        "worst relative error below 1e-08",
        "gap < 1e-7, weights equal",
        "loss and every gradient agree to 1e-14: True",
        "error ≤ 5e-10",
        "largest |gradient| = 0.0 and 0.00e+00",
        "eps 1e-06: loss 3.2082, accuracy 0.974, 840 parameters, seed 123456789",
        "TensorFlow 2.21.0",
    ],
)
def test_bounds_and_ordinary_numbers_are_stable(text: str):
    assert unstable_numbers(text) == []


def test_timing_cells_are_not_checked_for_rounding():
    timing = _code("print(t)", 1, [_stdout("0.000000123 s\n")], tags=[IGNORED, TIMING])
    assert hygiene_problems(_nb([_md("# T"), timing])) == []
    hidden = _code("print(acc)", 1, [_stdout("0.86\n")], tags=[IGNORED])  # not a timing
    assert any(f"without {TIMING!r}" in p for p in hygiene_problems(_nb([_md("# T"), hidden])))
    untagged = _code("print(t)", 1, [_stdout("0.000000123 s\n")])
    assert hygiene_problems(_nb([_md("# T"), untagged])) != []


# --- numbers in the prose -----------------------------------------------------------------------

DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.]*\d)")
# Not prose: maths, code, role targets and link addresses.
NOT_PROSE = re.compile(
    r"\$\$.*?\$\$|\$[^$\n]*\$|^(```|~~~).*?^\1|`[^`\n]*`|\]\([^)]*\)", re.DOTALL | re.MULTILINE
)
# Decimals a page's prose may quote without printing them, each with the reason.
NOT_RESULTS = {
    ("ch04_tensorflow", "2.16"): "the TensorFlow version from which Keras 3 is the default",
    ("ch05_distributed", "2.21"): "the TensorFlow version the page was measured with",
    ("ch05_distributed", "3.15"): "the Keras version the page was measured with",
}


def prose_numbers(nb: dict) -> list[tuple[str, str]]:
    """``(number, context)`` for each decimal in the prose and alt texts of ``nb``."""
    texts = [_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    texts += [
        c.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "") for c in nb["cells"]
    ]
    found = []
    for text in texts:
        prose = NOT_PROSE.sub(" ", text)
        for match in DECIMAL.finditer(prose):
            context = prose[max(0, match.start() - 40) : match.end() + 10].replace("\n", " ")
            found.append((match.group(0), context))
    return found


def unprinted_numbers(nb: dict, page: str) -> list[str]:
    """The prose's decimals that no output or code of the page shows (and not excused)."""
    shown = [_source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    shown += [_output_text(o) for c in nb["cells"] for o in c.get("outputs", [])]
    text = "\n".join(shown)
    return [
        f"{number!r} in '...{context}...'"
        for number, context in prose_numbers(nb)
        if (page, number) not in NOT_RESULTS
        and not re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", text)
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_prose_quotes_only_numbers_its_page_prints(path: Path):
    missing = unprinted_numbers(json.loads(path.read_text(encoding="utf-8")), path.stem)
    assert not missing, (
        f"{path.name}: the prose quotes numbers no output of the page prints (stale after a "
        "re-run?): print them, round the prose to what is printed, or say it in words:\n  "
        + "\n  ".join(missing)
    )


def test_prose_numbers_are_matched_at_the_printed_precision():
    nb = _nb(
        [
            _md("# T\n\nThe test accuracy is 0.86, with $\\eta = 0.01$ and `lr=0.5`."),
            _code("print(acc)", 1, [_stdout("test accuracy 0.862\n")]),
        ]
    )
    assert [m.split(" in ")[0] for m in unprinted_numbers(nb, "t")] == ["'0.86'"]
    nb["cells"][1]["outputs"] = [_stdout("test accuracy 0.86\n")]
    assert unprinted_numbers(nb, "t") == []
