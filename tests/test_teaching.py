"""Teaching checks on the book's pages: one notation, alt text, exercises with solutions, spelling.

- **Notation**: every symbol the chapters' maths uses (``$…$``, ``$$…$$`` in markdown cells) is
  listed on ``book/notation.md``. A symbol is a letter or Greek letter with its decoration (hat,
  tilde, bar) and any *label* sub- or superscript (``W^{\\text{sh}}``, ``W_s``); bold is ignored,
  and so are index subscripts (``x_m``, ``L_1``, ``W_{ij}``, ``L_\\text{digit}``) and powers
  (``W^\\top``, ``x^2``).
- **Alt text**: every code cell with a PNG output has ``metadata.mystnb.image.alt``.
- **Exercises**: the ``{exercise}`` labels of a chapter equal its ``{solution-start}`` labels,
  each solution is closed by ``{solution-end}``, and each chapter page has at least 3 exercises.
- **Spelling**: British (optimiser, normalise, initialise, colour) in the prose; TensorFlow, NumPy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(
    p
    for p in BOOK.glob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts and p.name != "setup_check.ipynb"
)
IDS = [p.stem for p in NOTEBOOKS]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _markdown(nb: dict) -> list[str]:
    return [_source(c) for c in nb.get("cells", []) if c["cell_type"] == "markdown"]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- notation

GREEK = set(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi "
    "Psi Omega".split()
)
BOLD = {"mathbf", "boldsymbol", "bm", "mathbfit", "vec"}
DECORATION = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde", "bar": "bar"}
DECORATION |= {"overline": "bar"}
#: Commands whose argument is a word or a name, not maths symbols (functions, sets, indicators).
WORDS = {"text", "mathrm", "operatorname", "mathbb", "mathcal", "textrm", "textbf", "textit"}
WORDS |= {"begin", "end", "label", "tag", "mathsf", "texttt", "color"}
#: Letters that are indices when they stand alone in a subscript.
INDEX = set("cijklmnrt")
TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}_^]|[A-Za-z]|\s+|.", re.DOTALL)
FENCE = re.compile(r"^(`{3,}|~{3,})(.*?)\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)


class _Math:
    """A tiny LaTeX reader: enough to pull the symbols out of the book's formulas."""

    def __init__(self, latex: str):
        self.tokens = [t for t in TOKEN.findall(latex) if not t.isspace()]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def group(self) -> list[str]:
        """The next argument: the tokens of a ``{...}`` group, or one token."""
        token = self.take()
        if token is not None and token[1:] in WORDS:  # `_\text{in}` written without braces
            return [token, "{", *self.group(), "}"]
        if token != "{":
            return [] if token is None else [token]
        depth, out = 1, []
        while (token := self.take()) is not None:
            depth += {"{": 1, "}": -1}.get(token, 0)
            if depth == 0:
                break
            out.append(token)
        return out

    def symbols(self) -> list[str]:
        found = []
        while self.peek() is not None:
            found.extend(self.atom())
        return found

    def atom(self) -> list[str]:
        token = self.take()
        base = None
        inner: list[str] = []
        if token == "{":
            self.pos -= 1
            sub = _Math(" ".join(self.group())).symbols()
            base, inner = (sub[0], []) if len(sub) == 1 else (None, sub)
        elif re.fullmatch(r"[A-Za-z]", token):
            base = token
        elif token.startswith("\\"):
            name = token[1:]
            if name in GREEK:
                base = "\\" + name.removeprefix("var")  # \varepsilon is \epsilon
            elif name in BOLD:
                sub = _Math(" ".join(self.group())).symbols()
                base, inner = (sub[0], []) if len(sub) == 1 else (None, sub)
            elif name in DECORATION:
                sub = _Math(" ".join(self.group())).symbols()
                base = f"\\{DECORATION[name]}{{{sub[0]}}}" if len(sub) == 1 else None
                inner = [] if base else sub
            elif name in WORDS:
                self.group()
        if base is None:
            self.scripts()
            return inner
        sub, sup = self.scripts()
        return [base + sub + sup]

    def scripts(self) -> tuple[str, str]:
        """Read ``_x`` and ``^y`` after a symbol; return the parts that are labels."""
        sub = sup = ""
        while self.peek() in ("_", "^", "'"):
            kind = self.take()
            if kind == "'":
                continue
            arg = self.group()
            label = _label(arg, subscript=kind == "_")
            if label and kind == "_":
                sub = f"_{{{label}}}"
            elif label:
                sup = f"^{{{label}}}"
        return sub, sup


def _label(arg: list[str], *, subscript: bool) -> str:
    """The label written in a sub/superscript, or '' for an index, a name or a power.

    A superscript in words is a label (``W^{\\text{sh}}``); a subscript in words is the name of a
    head or modality, an index (``L_\\text{digit}``); a single lower-case subscript letter that is
    not an index letter is a label (``W_s``); anything else (``p_{n y_n}``, ``g_W``) is an index.
    """
    if len(arg) >= 2 and arg[0] in ("\\text", "\\mathrm", "\\textrm"):
        return "" if subscript else "".join(t for t in arg[1:] if t.isalnum())
    if not subscript or len(arg) != 1 or not re.fullmatch(r"[a-z]", arg[0]) or arg[0] in INDEX:
        return ""  # a power, a transpose, a block index (1), index letters, a parameter (g_W)
    return arg[0]


def math_symbols(latex: str) -> set[str]:
    """Return the normalised symbols of a LaTeX formula.

    >>> sorted(math_symbols(r"\\hat{\\mathbf{y}}_i = \\mathbf{h} W^{\\text{sh}}_m + b_s"))
    ['W^{sh}', '\\\\hat{y}', 'b_{s}', 'h']
    """
    return set(_Math(latex).symbols())


def formulas(markdown: str) -> list[str]:
    """Return the LaTeX of every formula in a markdown text (code and inline code skipped)."""

    def fence(match: re.Match) -> str:
        info, body = match.group(2).strip(), match.group(3)
        if info.startswith("{math}"):
            return f"$${body}$$"
        return body if info.startswith("{") else ""  # directives hold prose; code blocks do not

    text = FENCE.sub(fence, markdown)
    text = re.sub(r"`[^`\n]*`", "", text)
    found = []
    env = r"\\begin\{(align|equation|gather|multline)(\*?)\}(.*?)\\end\{\1\2\}"
    for pattern in (r"\$\$(.+?)\$\$", env, r"(?<![\\$])\$((?:(?!\n\s*\n)[^$])+?)\$"):
        for match in re.finditer(pattern, text, re.DOTALL):
            found.append(match.group(match.lastindex))
        text = re.sub(pattern, " ", text, flags=re.DOTALL)
    return found


def notation_listed(page: Path = BOOK / "notation.md") -> set[str]:
    """The symbols the Notation page defines (every symbol in its formulas)."""
    text = page.read_text(encoding="utf-8")
    return set().union(*(math_symbols(f) for f in formulas(text)))


def missing_symbols(nb: dict, listed: set[str]) -> dict[str, str]:
    """Symbol -> a formula it appears in, for the notebook's symbols the Notation page lacks."""
    missing = {}
    for markdown in _markdown(nb):
        for formula in formulas(markdown):
            for symbol in sorted(math_symbols(formula) - listed):
                missing.setdefault(symbol, formula.strip()[:70])
    return missing


def test_the_notation_page_defines_the_books_symbols():
    listed = notation_listed()
    for symbol in ("x", "W^{sh}", "W^{enc}", "\\hat{y}", "y", "L", "\\lambda", "\\delta", "\\eta"):
        assert symbol in listed, f"{symbol} is missing from the Notation page's table"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_symbol_of_a_chapter_is_on_the_notation_page(path: Path):
    missing = missing_symbols(_load(path), notation_listed())
    lines = [f"{s!s:<14} in ${f}$" for s, f in missing.items()]
    assert not missing, (
        f"{path.name} uses symbols that book/notation.md does not list (add them there, or use "
        "the book's notation):\n  " + "\n  ".join(lines)
    )


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (
            r"\mathbf{a} = \mathbf{z} W^{\text{sh}} + \mathbf{b}^{\text{sh}}",
            {"a", "z", "W^{sh}", "b^{sh}"},
        ),
        (r"\frac{\partial L}{\partial \hat{\mathbf{y}}_i}", {"L", "\\hat{y}"}),
        (r"\hat Y_1 - Y_1", {"\\hat{Y}", "Y"}),
        (r"\sum_i \lambda_i L_i", {"\\lambda", "L"}),
        (r"W_s^{(1)\top} \odot \mathbb 1[a > 0]", {"W_{s}", "a"}),
        (r"\operatorname{sign} s_a \ne \mathrm{ReLU}(x)", {"s_{a}", "x"}),
        (r"\boldsymbol{\delta}_i W_i^{\top}", {"\\delta", "W"}),
        (r"\begin{bmatrix} e_1 & e_2 \end{bmatrix} x^2", {"e", "x"}),
    ],
)
def test_symbols_are_normalised(latex: str, expected: set[str]):
    assert math_symbols(latex) == expected


def test_formulas_are_found_in_prose_and_directives_but_not_in_code():
    text = (
        "Let $x_m$ be\n\n$$\nL = \\sum_i L_i\n$$\n\n```python\ny = f(x)  # $q$\n```\n"
        "and `$r$`, then\n````{exercise}\n:label: ch02-ex1\n\nShow $\\eta$.\n````\n"
    )
    assert formulas(text) == ["\nL = \\sum_i L_i\n", "x_m", "\\eta"]


def test_a_symbol_missing_from_the_notation_page_is_reported():
    page = {"cells": [{"cell_type": "markdown", "source": "Here $z W_s + Q^{\\text{new}}$."}]}
    missing = missing_symbols(page, notation_listed())
    assert set(missing) == {"W_{s}", "Q^{new}"}


# ---------------------------------------------------------------- notation in docstrings

#: Greek letters and hatted letters a docstring may spell in Unicode, as the maths writes them.
UNICODE = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon",
    "η": r"\eta", "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "ρ": r"\rho", "σ": r"\sigma",
    "τ": r"\tau", "φ": r"\phi", "ψ": r"\psi", "ω": r"\omega", "ŷ": r"\hat{y}", "Ŷ": r"\hat{Y}",
}  # fmt: skip
MATH_DIRECTIVE = re.compile(r"\.\. math::[^\n]*\n((?:[ \t]*\n|[ \t]+\S.*\n?)+)")


def docstrings() -> dict[str, str]:
    """Every docstring of the package, by dotted name: modules, classes, functions, methods."""
    import importlib
    import inspect
    import pkgutil

    import mmtutorial

    found = {}
    for info in pkgutil.walk_packages(mmtutorial.__path__, "mmtutorial."):
        module = importlib.import_module(info.name)
        found[info.name] = inspect.getdoc(module) or ""
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != info.name or not callable(obj):
                continue
            found[f"{info.name}.{name}"] = inspect.getdoc(obj) or ""
            for attr, member in vars(obj).items() if inspect.isclass(obj) else ():
                if inspect.isfunction(member):
                    found[f"{info.name}.{name}.{attr}"] = inspect.getdoc(member) or ""
    return found


def docstring_symbols(doc: str) -> set[str]:
    """The symbols a docstring writes: in ``:math:`` roles and ``.. math::`` blocks, and the
    Greek and hatted letters it spells in Unicode (``λ_i``, ``ŷ``)."""
    latex = re.findall(r":math:`([^`]*)`", doc) + MATH_DIRECTIVE.findall(doc + "\n")
    found = set().union(*(math_symbols(formula) for formula in latex))
    return found | {symbol for letter, symbol in UNICODE.items() if letter in doc}


def test_every_symbol_of_a_docstring_is_on_the_notation_page():
    listed = notation_listed()
    missing = {name: sorted(docstring_symbols(doc) - listed) for name, doc in docstrings().items()}
    lines = [f"{name}: {symbols}" for name, symbols in sorted(missing.items()) if symbols]
    assert not lines, (
        "docstrings use symbols that book/notation.md does not list (add them there, or use the "
        "book's notation):\n  " + "\n  ".join(lines)
    )


def test_a_docstring_symbol_missing_from_the_notation_page_is_reported():
    doc = "Return :math:`Q_s` and ψ.\n\n.. math::\n\n    L = \\kappa x\n\nDone."
    assert docstring_symbols(doc) == {"Q_{s}", "L", "x", "\\kappa", "\\psi"}
    assert docstring_symbols(doc) - notation_listed() == {"Q_{s}", "\\kappa", "\\psi"}


# ---------------------------------------------------------------- alt text


def figures_without_alt(nb: dict) -> list[str]:
    """The first line of every code cell that shows a PNG without alt text in its metadata."""
    bad = []
    for cell in nb.get("cells", []):
        shows_png = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
        if cell["cell_type"] == "code" and shows_png and not str(alt).strip():
            bad.append(_source(cell).strip().splitlines()[0][:60])
    return bad


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_has_alt_text(path: Path):
    bad = figures_without_alt(_load(path))
    assert not bad, (
        f"{path.name}: figure cells without alt text (add metadata "
        '"mystnb": {"image": {"alt": "..."}}):\n  ' + "\n  ".join(bad)
    )


def test_a_figure_without_alt_text_is_caught():
    png = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}
    cell = {"cell_type": "code", "source": "plt.show()", "metadata": {}, "outputs": [png]}
    assert figures_without_alt({"cells": [cell]}) == ["plt.show()"]
    cell["metadata"] = {"mystnb": {"image": {"alt": "A bar chart of accuracies."}}}
    assert figures_without_alt({"cells": [cell]}) == []


# ---------------------------------------------------------------- exercises

#: Chapter pages that must carry at least 3 exercises (ch06 and ch05_distributed are optional).
CHAPTERS = ("ch01", "ch02", "ch03a", "ch03b", "ch04", "ch05_challenges")
EXERCISE = re.compile(r"^`{3,}\{exercise\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)", re.MULTILINE)
#: sphinx-exercise numbers exercises across the whole book ("Exercise 14" in chapter 4), so each
#: is titled with its number in the chapter: ``{exercise} N``, ``:nonumber:``, N its label's.
TITLED = re.compile(r"^`{3,}\{exercise\} (\d+)\n:label: \S+-ex(\d+)\n:nonumber:\n", re.MULTILINE)
SOLUTION = re.compile(r"^`{3,}\{solution-(start|end)\}[ \t]*(\S*)", re.MULTILINE)


def chapter_prefix(name: str) -> str:
    """``ch05_distributed.ipynb`` -> ``ch05d``, ``ch03a_formulas.ipynb`` -> ``ch03a``,
    ``numerics.ipynb`` -> ``numerics``."""
    return "ch05d" if name.startswith("ch05_distributed") else Path(name).stem.split("_")[0]


def exercise_problems(nb: dict, name: str) -> list[str]:
    """What is wrong with a notebook's exercises and solutions (empty when all is well)."""
    text = "\n".join(_markdown(nb))
    exercises = EXERCISE.findall(text)
    problems, solutions, open_label = [], [], None
    for kind, label in SOLUTION.findall(text):
        if kind == "start":
            if open_label:
                problems.append(f"solution {open_label} is not closed by {{solution-end}}")
            open_label = label
            solutions.append(label)
        elif open_label is None:
            problems.append("a {solution-end} without a {solution-start}")
        else:
            open_label = None
    if open_label:
        problems.append(f"solution {open_label} is not closed by {{solution-end}}")
    if missing := [e for e in exercises if e not in solutions]:
        problems.append(f"exercises without a solution: {missing}")
    if extra := [s for s in solutions if s not in exercises]:
        problems.append(f"solutions without an exercise: {extra}")
    if len(set(exercises)) != len(exercises):
        problems.append(f"an exercise label is used twice: {exercises}")
    titled = [n for n, label_n in TITLED.findall(text) if n == label_n]
    if len(titled) != len(exercises):
        problems.append("exercises must read ````{exercise} N / :label: <prefix>-exN / :nonumber:")
    prefix = chapter_prefix(name)
    if wrong := [e for e in exercises if not re.fullmatch(rf"{prefix}-ex\d+", e)]:
        problems.append(f"labels {wrong} do not read {prefix}-ex<N>")
    if name.startswith(CHAPTERS) and len(exercises) < 3:
        problems.append(f"{len(exercises)} exercises ({{exercise}} blocks), expected at least 3")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_exercise_has_a_solution(path: Path):
    problems = exercise_problems(_load(path), path.name)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def _exercise(label: str) -> str:
    number = label.rsplit("ex", 1)[-1]
    return f"````{{exercise}} {number}\n:label: {label}\n:nonumber:\n\nDo it.\n````"


def _solution(label: str, close: bool = True) -> list[str]:
    end = ["````{solution-end}\n````"] if close else []
    return [f"````{{solution-start}} {label}\n:class: dropdown\n````\nDone.", *end]


def _chapter(*cells: str) -> dict:
    return {"cells": [{"cell_type": "markdown", "source": c} for c in cells]}


def test_matching_exercises_and_solutions_pass():
    labels = ["ch02-ex1", "ch02-ex2", "ch02-ex3"]
    solutions = [c for label in labels for c in _solution(label)]
    nb = _chapter(*(_exercise(label) for label in labels), *solutions)
    assert exercise_problems(nb, "ch02_concepts.ipynb") == []


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([_exercise("ch02-ex1"), _exercise("ch02-ex2"), _exercise("ch02-ex3")], "without a sol"),
        ([*_solution("ch02-ex9")], "solutions without an exercise: ['ch02-ex9']"),
        ([_exercise("ch02-ex1"), *_solution("ch02-ex1", close=False)], "not closed"),
        ([_exercise("ch2-ex1"), *_solution("ch2-ex1")], "do not read ch02-ex<N>"),
        ([_exercise("ch02-ex1"), *_solution("ch02-ex1")], "1 exercises"),
        ([_exercise("ch02-ex1").replace(":nonumber:\n", ""), *_solution("ch02-ex1")], "N / :label"),
        ([_exercise("ch02-ex1").replace("} 1", "} 2"), *_solution("ch02-ex1")], "N / :label"),
    ],
    ids=[
        "no-solutions",
        "orphan-solution",
        "unclosed",
        "bad-label",
        "too-few",
        "book-number",
        "bad-n",
    ],  # fmt: skip
)
def test_a_mismatch_of_exercises_and_solutions_is_caught(cells: list[str], expected: str):
    problems = exercise_problems(_chapter(*cells), "ch02_concepts.ipynb")
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------- spelling

AMERICAN = re.compile(r"\b(optimiz\w*|normaliz\w*|initializ\w*|regulariz\w*|colors?)\b", re.I)
MISSPELT = re.compile(r"\b(?:Tensorflow|Numpy|Pytorch)\b")  # TensorFlow, NumPy, PyTorch
PAGES = [*NOTEBOOKS, *sorted(BOOK.glob("*.md"))]


def american_spellings(markdown: str) -> list[str]:
    """American spellings in the prose of a page (code, inline code, links and labels skipped)."""
    text = FENCE.sub(lambda m: m.group(3) if m.group(2).strip().startswith("{") else "", markdown)
    text = re.sub(r"`[^`\n]*`|\]\([^)]*\)|\{[\w:-]+\}|:label:.*|<[^>]*>", "", text)
    return AMERICAN.findall(text) + MISSPELT.findall(text)


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_prose_uses_british_spelling(path: Path):
    text = path.read_text(encoding="utf-8")
    pages = _markdown(json.loads(text)) if path.suffix == ".ipynb" else [text]
    found = [w for page in pages for w in american_spellings(page)]
    assert not found, f"{path.name}: American or misspelt words in the prose: {sorted(set(found))}"


def test_american_spelling_is_caught_outside_code():
    assert american_spellings("The Adam optimizer normalizes `optimizer=` colours") == [
        "optimizer",
        "normalizes",
    ]
    assert american_spellings("Tensorflow and Numpy, not `import tensorflow`") == [
        "Tensorflow",
        "Numpy",
    ]


# ---------------------------------------------------------------- bibliography

BIB = BOOK / "references.bib"


def bib_problems(bibtex: str) -> list[str]:
    """Entries whose rendering goes wrong: LaTeX accents in authors, lower-cased proper nouns.

    pybtex's alpha labels spell ``Baltru{\\v{s}}aitis`` as ``BaltruvsaitisAM19`` (UTF-8 gives
    ``BAM19``), and the bibliography style lower-cases a title's unbraced ``TensorFlow``.
    """
    problems = []
    for key, body in re.findall(r"^@\w+\{([^,]+),(.*?)^\}", bibtex, re.MULTILINE | re.DOTALL):
        author = re.search(r"^\s*author\s*=\s*\{(.*)\},?\s*$", body, re.MULTILINE)
        if author and "\\" in author.group(1):
            problems.append(f"{key}: write the author names in UTF-8, not LaTeX accents")
        title = re.search(r"^\s*title\s*=\s*\{(.*)\},?\s*$", body, re.MULTILINE)
        bare = re.sub(r"\{[^{}]*\}", "", title.group(1)) if title else ""
        if cased := re.findall(r"\b(?:\w*[a-z][A-Z]\w*|[A-Z]{2,}\w*)", bare):
            problems.append(f"{key}: brace {cased} in the title, or it renders lower-cased")
    return problems


def test_bibliography_renders_names_and_titles():
    problems = bib_problems(BIB.read_text(encoding="utf-8"))
    assert not problems, "book/references.bib:\n  " + "\n  ".join(problems)


def test_bad_bibliography_entries_are_caught():
    bad = (
        "@article{x,\n  author = {Baltru{\\v{s}}aitis, Tadas},\n"
        "  title = {TensorFlow: Systems with {ImageNet} and SGD},\n}\n"
    )
    problems = bib_problems(bad)
    assert len(problems) == 2 and "['TensorFlow', 'SGD']" in problems[1], problems


# A reference to an unnumbered exercise renders as the bare word "Exercise": name it instead,
# {ref}`exercise 2 <ch03b-ex2>`.
BARE_EXERCISE_REF = re.compile(r"\{ref\}`[\w-]+-ex\d+`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_references_to_exercises_name_them(path: Path):
    bare = [m.group(0) for text in _markdown(_load(path)) for m in BARE_EXERCISE_REF.finditer(text)]
    assert not bare, f"{path.name}: write {{ref}}`exercise N <label>`, not {bare}"


def test_a_bare_reference_to_an_exercise_is_caught():
    assert BARE_EXERCISE_REF.search("see exercise {ref}`ch03a-ex4`.")
    assert not BARE_EXERCISE_REF.search("see {ref}`exercise 4 <ch03a-ex4>`.")
