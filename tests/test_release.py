"""The release as readers get it (issue 23): the wheel, its extras, the notebooks zip, launchers.

* The wheel and the sdist are built (``python -m build``, as ``make release`` does) and pass
  ``twine check``; the version is written once, in ``mmtutorial/__init__.py``.
* Two fresh virtual environments, installed from the wheel with the pinned versions (pip's cache
  and index as a reader's): one without TensorFlow (the README's example, ``load_digits``, a short
  ``numpy_nn.train``, and the one error that names the ``[tf]`` extra), one with
  ``[tf,notebooks]`` (``article_model`` trains a few steps; ``jupyter lab`` starts), which the
  zip's check shares.
* The notebooks zip, unzipped into an empty folder, installs as its own README says and runs
  ``setup_check`` and a NumPy chapter under nbconvert.
* A one-page build of each edition (not a second full build): the front page shows the version;
  with ``BOOK_REPOSITORY_URL`` a chapter has Colab and Binder links to its notebook, without it
  none; the Colab cell renders nothing.
* Every notebook starts with the Colab cell of this edition (``scripts/colab_cell.py``), whose
  install command pip resolves against the local wheel (``--dry-run``). Colab and Binder
  themselves cannot be reached from CI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

import mmtutorial

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "scripts"))
import colab_cell  # noqa: E402

VERSION = mmtutorial.__version__
WHEEL = f"mmtutorial-{VERSION}-py3-none-any.whl"
REPOSITORY = "https://github.com/example-owner/example-book"
# The NumPy chapter the zip's check executes (with setup_check).
ZIP_CHAPTER = "ch03a_formulas"
# A reader's environment: no TensorFlow noise, nothing of this checkout on the import path.
ENV = {
    key: value
    for key, value in os.environ.items()
    if key not in {"PYTHONPATH", "JUPYTER_PATH", "VIRTUAL_ENV", "PYTHONHOME"}
}


def _start(command: list, *, cwd: Path, env: dict = ENV) -> subprocess.Popen:
    """``command`` started in the background; ``_output`` waits for it."""
    return subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finished(process: subprocess.Popen, timeout: int = 600) -> subprocess.CompletedProcess:
    """A started command, once ended (killed if it takes longer than ``timeout`` seconds)."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _output(process: subprocess.Popen, timeout: int = 600) -> str:
    """What a started command printed; it must succeed."""
    result = _finished(process, timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(result.args)} failed:\n{output[-4000:]}"
    return output


def _run(command: list, *, cwd: Path, timeout: int = 600, env: dict = ENV) -> str:
    return _output(_start(command, cwd=cwd, env=env), timeout)


def _copy_sources(target: Path) -> Path:
    """What the sdist is built from, copied: the checkout gets no build/ or egg-info."""
    for name in ["pyproject.toml", "README.md", "LICENSE"]:
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "mmtutorial", target / "mmtutorial", ignore=ignore)
    return target


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and the wheel built from it, as ``make release`` builds them (setuptools from
    this environment, pinned, instead of a download: the same backend)."""
    source = _copy_sources(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    _run([PYTHON, "-m", "build", "--no-isolation", "--outdir", out, source], cwd=source)
    return out


@pytest.fixture(scope="module", autouse=True)
def installing(dist, tmp_path_factory) -> dict[str, tuple[Path, subprocess.Popen]]:
    """Two fresh environments from the wheel, installed side by side: ``numpy`` (no extra) and
    ``tf`` (``[tf,notebooks]``). Started before the module's first test: the tests that do not
    need them run meanwhile (conftest.py runs the ones that do, fixture ``venvs``, last)."""
    wheel = dist / WHEEL
    folders = {"numpy": str(wheel), "tf": f"{wheel}[tf,notebooks]"}
    running = {}
    for name, requirement in folders.items():
        venv = tmp_path_factory.mktemp(f"venv-{name}")
        _run([PYTHON, "-m", "venv", venv], cwd=venv)
        # --no-compile: no .pyc files written ahead (TensorFlow's thousands of modules): a third
        # less CPU time, and nothing a reader's first import would not compile itself
        pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile"]
        pip += ["-c", CONSTRAINTS]
        running[name] = (
            venv / "bin",
            subprocess.Popen(
                [str(part) for part in [*pip, requirement]],
                cwd=venv,
                env=ENV,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
    yield running
    for _, process in running.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def venvs(installing) -> dict[str, Path]:
    """The two environments, once installed: each one's ``bin`` folder."""
    bins = {}
    for name, (bin_, process) in installing.items():
        output, _ = process.communicate(timeout=1200)
        assert process.returncode == 0, f"installing {process.args[-1]} failed:\n{output[-4000:]}"
        bins[name] = bin_
    return bins


@pytest.fixture(scope="module")
def checks(venvs, dist, tmp_path_factory) -> dict[str, subprocess.Popen]:
    """The environments' checks that take seconds each (TensorFlow's import and a short training,
    jupyter lab's start, pip resolving the Colab cell's install command), started side by side as
    soon as the environments are ready, each in an empty folder; each test below waits for its
    own and asserts on what it printed."""
    work = tmp_path_factory.mktemp("checks")
    for name in ["numpy", "tf", "lab", "colab"]:
        (work / name).mkdir()
    numpy_only = NUMPY_ONLY.format(version=VERSION, example=_readme_example())
    # In the NumPy-only venv: the wheel and NumPy and matplotlib at the pins are there already
    # (installed with the constraints, where the cell's pins come from), TensorFlow is resolved.
    pip = [venvs["numpy"] / "python", "-m", "pip", "install", "--dry-run", "-q", "--report", "-"]
    started = {
        "numpy": _start([venvs["numpy"] / "python", "-c", numpy_only], cwd=work / "numpy"),
        "tf": _start([venvs["tf"] / "python", "-c", TF_EXTRA], cwd=work / "tf"),
        "lab": _start([venvs["tf"] / "jupyter", "lab", "--version"], cwd=work / "lab"),
        "colab": _start([*pip, "--find-links", dist, *colab_cell.packages()], cwd=work / "colab"),
    }
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


# --- the version, written once --------------------------------------------------------------------


def test_the_version_is_written_once_and_read_everywhere(dist):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    with zipfile.ZipFile(dist / WHEEL) as wheel:
        metadata = wheel.read(f"mmtutorial-{VERSION}.dist-info/METADATA").decode()
    assert f"\nVersion: {VERSION}\n" in metadata
    assert (dist / f"mmtutorial-{VERSION}.tar.gz").is_file()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
    # the one other place: the pins of the Colab cell come from the version, not a copy of it
    assert colab_cell.version() == VERSION


def test_twine_check_passes_on_the_wheel_and_the_sdist(dist):
    output = _run([PYTHON, "-m", "twine", "check", "--strict", *sorted(dist.iterdir())], cwd=dist)
    assert output.count("PASSED") == 2, output


def test_the_dependencies_leave_tensorflow_and_jupyter_to_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert not any("tensorflow" in d for d in project["dependencies"])
    extras = project["optional-dependencies"]
    assert any(d.startswith("tensorflow") for d in extras["tf"])
    assert any(d.startswith("jupyterlab") for d in extras["notebooks"])
    # make book and make test install every chapter's needs and the README's `jupyter lab`
    assert "mmtutorial[tf,notebooks]" in extras["book"]
    assert "mmtutorial[book,release]" in extras["test"]


def test_jupyter_lab_runs_in_the_environment_make_book_installs():
    # This environment is the one make book / make test set up (.venv): the README's way to run
    # the notebooks, `.venv/bin/jupyter lab book/`, needs `jupyter lab` there.
    jupyter = Path(PYTHON).parent / "jupyter"
    assert re.fullmatch(r"\d+\.\d+\.\d+\s*", _run([jupyter, "lab", "--version"], cwd=ROOT))


# --- the wheel as readers get it ------------------------------------------------------------------


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) == 1, "the README has one Python example"
    return "\n".join(line.removeprefix("  ") for line in blocks[0].splitlines())


NUMPY_ONLY = """
import importlib.metadata, importlib.util, sys
import mmtutorial
assert importlib.util.find_spec("tensorflow") is None, "TensorFlow came without the extra"
assert "site-packages" in mmtutorial.__file__, mmtutorial.__file__
assert mmtutorial.__version__ == importlib.metadata.version("mmtutorial") == {version!r}

{example}

from mmtutorial.data import load_digits
from mmtutorial.numpy_nn import Adam, article_network, train
from mmtutorial.data import article_data
digits = load_digits()
assert len(digits) == 2000, len(digits)
history = train(article_network(), article_data(n_samples=8), Adam(0.01), steps=20)
assert history.loss[-1] < history.loss[0]

from mmtutorial.repro import set_seed
for what in ["import mmtutorial.tf_nn", "import mmtutorial.bench", "set_seed(0, tensorflow=True)"]:
    try:
        exec(what)
    except ModuleNotFoundError as error:
        assert error.name == "tensorflow" and 'pip install "mmtutorial[tf]"' in str(error), error
        print(what, "->", error)
    else:
        raise AssertionError(what + " worked without TensorFlow")
"""


def test_without_tensorflow_the_numpy_half_works_and_tf_nn_names_the_extra(checks):
    output = _output(checks["numpy"])
    assert "worst relative error" in output
    assert output.count('pip install "mmtutorial[tf]"') == 3, output


TF_EXTRA = """
import keras
from mmtutorial.data import article_data
from mmtutorial.tf_nn import article_model, train
history = train(article_model(), article_data(n_samples=16), keras.optimizers.Adam(0.01),
                losses={"y1": "mse", "y2": "mse"}, epochs=3)
assert len(history.loss) == 3 and history.loss[-1] < history.loss[0], history.loss
print("trained")
"""


def test_with_the_tf_extra_the_article_model_trains(checks):
    assert "trained" in _output(checks["tf"])


def test_the_notebooks_extra_starts_jupyter_lab(checks):
    output = _output(checks["lab"])
    assert re.fullmatch(r"\d+\.\d+\.\d+\s*", output), output


# --- one page of each edition, built with and without a repository URL ----------------------------

MINI_TOC = """\
format: jb-book
root: intro
chapters:
  - file: {chapter}
"""
BUILD = """
import sys
from pathlib import Path
from jupyter_book.sphinx import build_sphinx
book, out, toc, language = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
result = build_sphinx(book, out / "html", noconfig=True, path_config=book / "_config.yml",
    confoverrides={"external_toc_path": toc, "latex_individualpages": False, "language": language},
    doctreedir=out / "doctrees", builder="html", freshenv=True, warningiserror=False,
    keep_going=True)
sys.exit(result if isinstance(result, int) else 1)
"""


@pytest.fixture(scope="module")
def sites(dist, tmp_path_factory) -> dict[str, Path]:
    """The front page and one chapter of each edition: English with ``BOOK_REPOSITORY_URL``,
    Chinese without. Built side by side; the zip they write carries ``dist``'s wheel."""
    work = tmp_path_factory.mktemp("sites")
    toc = work / "_toc.yml"
    toc.write_text(MINI_TOC.format(chapter=ZIP_CHAPTER))
    script = work / "build.py"
    script.write_text(BUILD)
    env = {**ENV, "BOOK_WHEEL": str(dist / WHEEL)}
    env.pop("BOOK_REPOSITORY_URL", None)
    running = {}
    for language, url in [("en", REPOSITORY), ("zh_CN", None)]:
        extra = {"BOOK_REPOSITORY_URL": url} if url else {}
        command = [PYTHON, script, BOOK, work / language, toc, language]
        running[language] = subprocess.Popen(
            [str(part) for part in command],
            cwd=ROOT,
            env={**env, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for language, process in running.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"the {language} page build failed:\n{output[-4000:]}"
    return {language: work / language / "html" for language in running}


LINK = re.compile(r'href="([^"]+)"')


def _launch_links(html: str) -> list[str]:
    return [u for u in LINK.findall(html) if "colab" in u or "binder" in u]


def test_the_front_pages_show_the_version(sites):
    for language, site in sites.items():
        html = (site / "intro.html").read_text()
        assert f'<p class="book-version">mmtutorial {VERSION}</p>' in html, language
        assert "book-version" not in (site / f"{ZIP_CHAPTER}.html").read_text(), language


def test_with_a_repository_url_a_chapter_links_colab_and_binder_to_its_notebook(sites):
    links = sorted(set(_launch_links((sites["en"] / f"{ZIP_CHAPTER}.html").read_text())))
    path = f"book/{ZIP_CHAPTER}.ipynb"
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    assert links == [
        f"https://colab.research.google.com/github/{owner_repo}/blob/main/{path}",
        f"https://mybinder.org/v2/gh/{owner_repo}/main?urlpath=lab/tree/{path}",
    ]
    assert _launch_links((sites["en"] / "intro.html").read_text()) == []  # not a notebook


def test_without_a_repository_url_no_page_links_out_to_launch(sites):
    for page in ["intro.html", f"{ZIP_CHAPTER}.html"]:
        html = (sites["zh_CN"] / page).read_text()
        assert _launch_links(html) == [], page
        assert "colab.research.google.com" not in html and "mybinder.org" not in html, page


def test_the_colab_cell_renders_nothing(sites):
    for site in sites.values():
        html = (site / f"{ZIP_CHAPTER}.html").read_text()
        assert "google.colab" not in html


# --- the notebooks zip, from an empty folder ------------------------------------------------------


def _zip_commands(readme: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    assert blocks, "the zip's README has no commands"
    return [line.strip() for line in blocks[0].splitlines() if line.strip()]


def test_the_zip_holds_the_wheel_not_a_source_tree(sites, dist):
    with zipfile.ZipFile(sites["en"] / "downloads" / "mmtutorial-notebooks.zip") as archive:
        names = set(archive.namelist())
        wheel = archive.read(f"mmtutorial-book/{WHEEL}")
    notebooks = {f"mmtutorial-book/notebooks/{p.name}" for p in BOOK.glob("*.ipynb")}
    rest = {f"mmtutorial-book/{name}" for name in ["README.md", "LICENSE", WHEEL]}
    assert names == notebooks | rest
    assert wheel == (dist / WHEEL).read_bytes()


def test_the_zip_runs_by_itself_as_its_readme_says(checks, sites, venvs, dist, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with zipfile.ZipFile(sites["en"] / "downloads" / "mmtutorial-notebooks.zip") as archive:
        archive.extractall(folder)
    folder = folder / "mmtutorial-book"
    readme = (folder / "README.md").read_text()
    assert "## 中文说明" in readme and VERSION in readme
    commands = _zip_commands(readme)
    assert commands == [
        "python -m venv .venv",
        "source .venv/bin/activate",
        f'pip install "{WHEEL}[tf,notebooks]"',
        "jupyter lab",
    ]
    # The venv step: the shared [tf,notebooks] environment is that one, installed from the same
    # wheel (same bytes) with the same extras, so the README's pip command finds nothing to do.
    digest = hashlib.sha256((folder / WHEEL).read_bytes()).hexdigest()
    assert digest == hashlib.sha256((dist / WHEEL).read_bytes()).hexdigest()
    bin_ = venvs["tf"]
    output = _run([bin_ / "pip", *commands[2].split()[1:-1], f"{WHEEL}[tf,notebooks]"], cwd=folder)
    assert "Successfully installed" not in output, output
    env = {
        **ENV,
        "PATH": f"{bin_}{os.pathsep}{ENV.get('PATH', '')}",
        "VIRTUAL_ENV": str(bin_.parent),
    }
    # jupyter lab's start and both notebooks, side by side (each notebook to its own folder)
    lab = _start(["jupyter", "lab", "--version"], cwd=folder, env=env)
    out = tmp_path / "executed"
    executing = {
        name: _start(
            [
                *("jupyter", "nbconvert", "--to", "notebook", "--execute"),
                *("--output-dir", out / name, f"notebooks/{name}.ipynb"),
            ],
            cwd=folder,
            env=env,
        )
        for name in ["setup_check", ZIP_CHAPTER]
    }
    try:
        _output(lab)
        for name, process in executing.items():
            _output(process)
            executed = nbformat.read(out / name / f"{name}.ipynb", as_version=4)
            errors = [
                o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"
            ]
            assert not errors, (name, errors)
    finally:
        for process in [lab, *executing.values()]:
            if process.poll() is None:
                process.kill()
                process.wait()
    setup = nbformat.read(out / "setup_check" / "setup_check.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in setup.cells for o in c.get("outputs", []))
    assert f"mmtutorial {VERSION}" in printed, printed


# --- the Colab cell and Binder --------------------------------------------------------------------


def _notebooks() -> list[Path]:
    return sorted(BOOK.glob("*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_every_notebook_starts_with_this_editions_colab_cell(path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert colab_cell.is_colab_cell(first), f"{path.name}: run python scripts/colab_cell.py"
    assert first.source == colab_cell.cell_source(), f"{path.name}: run scripts/colab_cell.py"
    assert "remove-cell" in first.metadata["tags"]
    # executed with the rest, a no-op off Colab: count 1, nothing printed, the rest 2, 3, ...
    assert first.execution_count == 1 and first.outputs == []
    assert sum(colab_cell.is_colab_cell(c) for c in notebook.cells) == 1


def test_the_colab_cell_does_nothing_off_colab():
    namespace: dict = {}
    exec(colab_cell.cell_source(), namespace)
    assert "packages" not in namespace  # the guarded branch did not run


def test_the_colab_install_command_resolves_against_the_wheel(checks):
    packages = colab_cell.packages()
    assert packages[0] == f"mmtutorial[tf]=={VERSION}"
    result = _finished(checks["colab"])  # pip install --dry-run of packages (fixture checks)
    assert result.returncode == 0, result.stderr[-4000:]
    would_install = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(result.stdout)["install"]
    }
    assert would_install.get("mmtutorial", VERSION) == VERSION
    assert would_install["tensorflow"] == colab_cell.pins()["tensorflow"]
    for name, pinned in colab_cell.pins().items():
        assert would_install.get(name, pinned) == pinned, (name, would_install[name])


def test_binder_installs_the_package_with_both_extras_and_the_pins():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    lines = [line for line in lines if line.strip() and not line.startswith("#")]
    assert lines == ["-c ../.ci/constraints.txt", ".[tf,notebooks]"]
    assert (ROOT / "binder" / "../.ci/constraints.txt").resolve() == CONSTRAINTS
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
