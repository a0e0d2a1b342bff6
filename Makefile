# The README's two commands are `make book` and `make test`; both set up .venv themselves.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Exact versions the stored notebook outputs were produced with (regenerate: make constraints).
CONSTRAINTS := .ci/constraints.txt
SANITIZE := book/nbval_sanitize.cfg
NOTEBOOKS = $(shell find book -name '*.ipynb' -not -path '*/_build/*' -not -path '*/.ipynb_checkpoints/*' | sort)

# Set before any kernel or TensorFlow starts: quiet TF start-up, no oneDNN rounding differences,
# no headless-display surprises for matplotlib outside notebooks.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# MathJax for the rendered book, from npm at the version pinned in its package-lock.json; served by
# the site itself (book/_ext/offline_site.py copies it into _build/html/_static/mathjax/).
MATHJAX_DIR := book/_mathjax
MATHJAX := $(MATHJAX_DIR)/node_modules/mathjax/es5/tex-chtml.js
# axe-core, injected into every page by the browser check, at the version in its package-lock.json.
AXE := tests/axe/node_modules/axe-core/axe.min.js

.PHONY: book catalogs test lint release unit nbval nbval-portable nbval-sweep notebooks notebook mutation mutation-tf bench browser chromium screenshots logo font pdf constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The installs use uv (pinned, from the registry into the venv): the same pinned versions as pip
# would install (the constraints pin every package), in a quarter of pip's time. Compiled to .pyc
# as pip does: where PYTHONDONTWRITEBYTECODE is set, each process would compile TensorFlow again.
UV_VERSION := 0.13.9
# Should uv fail (an index only pip's configuration names, say), pip installs the same pins.
UV_INSTALL = $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c $(CONSTRAINTS)
PIP_INSTALL = $(BIN)/pip install -q -c $(CONSTRAINTS)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install -q uv==$(UV_VERSION)

$(VENV)/.installed-book: pyproject.toml $(CONSTRAINTS) | $(BIN)/uv
	$(UV_INSTALL) -e ".[book]" || $(PIP_INSTALL) -e ".[book]"
	touch $@

# The test extra includes the book's: one install serves both stamps, so make test's make book
# does not install again.
$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/uv
	$(UV_INSTALL) -e ".[test]" || $(PIP_INSTALL) -e ".[test]"
	touch $(VENV)/.installed-book $@

## make book: render both editions, English to book/_build/html and Chinese to book/_build/html/zh_CN
## (warnings are errors; scripts/build_book.py).
book: $(VENV)/.installed-book $(MATHJAX)
	$(BIN)/python scripts/build_book.py

## make release: the wheel and the sdist of this edition (mmtutorial/__init__.py's __version__) in
## dist/, checked by twine check (tests/test_release.py builds and checks them the same way).
## Publishing them is a maintainer's step (README, Publishing a copy), never CI's.
release: $(VENV)/.installed-test
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*

## make catalogs [PAGES="ch01_background ..."]: after changing English prose, update the Chinese
## edition's message catalogs (book/locales/zh_CN/LC_MESSAGES/*.po): changed paragraphs are marked
## fuzzy, new ones arrive empty; translate them (tests/test_translation.py fails until then).
catalogs: $(VENV)/.installed-book
	$(BIN)/python scripts/catalogs.py $(PAGES)

$(MATHJAX): $(MATHJAX_DIR)/package.json $(MATHJAX_DIR)/package-lock.json
	cd $(MATHJAX_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## make test: lint, unit tests, every notebook under nbval (strict), the book build, the browser check.
test: $(VENV)/.installed-test
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) nbval
	$(MAKE) nbval-portable
	$(MAKE) book
	$(MAKE) browser

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The unit tests and every docstring example of the package (--doctest-modules, see pyproject),
# two test files at a time (pytest-xdist); MathJax too, which the release tests' one-page builds need.
unit: $(VENV)/.installed-test $(MATHJAX)
	$(BIN)/pytest -n 2 --dist loadfile tests mmtutorial \
		--ignore=tests/test_site.py --ignore=tests/test_api_links.py

## make browser: open every page of the built book in headless Chromium at desktop and phone widths,
## with axe-core, and check its links to the API reference (run after make book).
# One worker: Chromium's rendering and axe already keep both cores busy. Two workers, each with
# whole pages (-n 2 --dist loadgroup: a page's checks are one xdist_group, by_page in
# tests/test_site.py, so no page loads twice), took as long again: 178 s against 167 s in all.
browser: $(VENV)/.installed-test chromium $(AXE)
	$(BIN)/pytest tests/test_site.py tests/test_api_links.py

$(AXE): tests/axe/package.json tests/axe/package-lock.json
	cd tests/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium (Playwright's own browser download needs the network); root installs it.
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

## make screenshots: README pictures of the built book, desktop and phone, in docs/screenshots/
## (run after make book; the Chinese is drawn with the book's own font, no system CJK font needed).
screenshots: $(VENV)/.installed-test chromium
	$(BIN)/python scripts/screenshots.py

## make font: subset Noto Sans SC to exactly the Chinese characters the book uses, into
## book/_static/fonts/ (run when a page gains one: tests/test_font.py names it).
FONTSOURCE := book/_fonts/node_modules/@fontsource/noto-sans-sc/package.json

font: $(VENV)/.installed-test $(FONTSOURCE)
	$(BIN)/python scripts/subset_font.py

$(FONTSOURCE): book/_fonts/package.json book/_fonts/package-lock.json
	cd book/_fonts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## make pdf: each edition as one PDF in book/_build/pdf/ (names in book_editions): the single-page
## HTML printed by the browser check's Chromium, then checked by tests/pdf_check.py. The next
## make book links each from its edition's pages. Not part of make test: it adds a few minutes.
pdf: $(VENV)/.installed-test $(MATHJAX) chromium
	$(BIN)/python scripts/build_book.py --builder singlehtml
	$(BIN)/python scripts/make_pdf.py
	$(BIN)/pytest -p no:cacheprovider tests/pdf_check.py

## make logo: redraw book/_static/logo.png and favicon.ico.
logo: $(VENV)/.installed-book
	$(BIN)/python scripts/make_logo.py

## make nbval [NB=book/x.ipynb]: compare every stored notebook output with a fresh run.
# Two notebooks at a time (pytest-xdist, each notebook whole in one worker): a notebook's time is
# mostly TensorFlow tracing its loops, single-threaded Python, so one kernel leaves a core idle.
NBVAL_WORKERS ?= 2
NBVAL = $(BIN)/pytest --nbval --nbval-current-env --nbval-sanitize-with $(SANITIZE) \
	-n $(NBVAL_WORKERS) --dist loadfile

nbval: $(VENV)/.installed-test
	$(NBVAL) $(or $(NB),$(NOTEBOOKS))

## make nbval-portable [NB=...]: the same strict comparison in a numerically different environment,
## standing in for a reader's CPU: every initial weight the package draws moved by one float32 ulp
## or 1e-12 in float64 (MMTUTORIAL_PERTURB, one fixed draw; make nbval-sweep runs several), NumPy
## without its AVX2 loops, TensorFlow's oneDNN kernels, one thread everywhere. A stored output that
## changes here would change on another CPU: print it as a bound or at a precision that survives
## (see README, Contributing). OPENBLAS_CORETYPE is left to the machine: some set it for correctness.
PORTABLE_ENV = MMTUTORIAL_PERTURB=0 NPY_DISABLE_CPU_FEATURES=X86_V3 TF_ENABLE_ONEDNN_OPTS=1 \
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1

nbval-portable: $(VENV)/.installed-test
	env $(PORTABLE_ENV) $(NBVAL) -p no:cacheprovider $(or $(NB),$(NOTEBOOKS))

## make nbval-sweep [K=4] [NB=...]: nbval unperturbed and under K draws of MMTUTORIAL_PERTURB (every
## initial weight moved by one float32 ulp or 1e-12), with each training run's largest relative
## change of its final loss. Run it, and make it pass, before committing regenerated notebooks.
## Not part of make test (about 5 min per draw on 2 cores).
K ?= 4

nbval-sweep: $(VENV)/.installed-test
	$(BIN)/python scripts/nbval_sweep.py -k $(K) --workers $(NBVAL_WORKERS) $(NB)

## make notebooks: re-execute every notebook in place (make notebook NB=book/x.ipynb for one).
EXECUTE = $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	--ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False

notebooks: $(VENV)/.installed-test
	$(EXECUTE) $(NOTEBOOKS)

notebook: $(VENV)/.installed-test
	$(EXECUTE) $(NB)

## make mutation: mutate numpy_nn/ and gradcheck.py (mutmut, see [tool.mutmut] in pyproject.toml)
## and report how many mutants the tests kill. Not part of make test: it takes ~30 min on 2 cores.
mutation: $(VENV)/.installed-mutation
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/mutmut results --all true | $(BIN)/python scripts/mutation_score.py

## make mutation-tf: the same for the TensorFlow engine's fusion layers, training step and argument
## checks, in a scratch copy (scripts/mutation_tf.py); timeouts and untested mutants count as survivors.
mutation-tf: $(VENV)/.installed-mutation
	$(BIN)/python scripts/mutation_tf.py

$(VENV)/.installed-mutation: $(VENV)/.installed-test
	$(BIN)/pip install -q "mutmut>=3.8,<4"
	touch $@

## make bench: the article's network, 1000 steps, five ways, as ratios.
bench: $(VENV)/.installed-test
	$(BIN)/python -m mmtutorial.bench

# --all: setuptools too (make book builds the zip's wheel with it); pip and uv, the installers,
# are not pinned here (UV_VERSION pins uv).
constraints: $(BIN)/python
	$(BIN)/pip freeze --all --exclude-editable | grep -v -e '^-e' -e '^pip==' -e '^uv==' \
		> $(CONSTRAINTS)

clean:
	rm -rf book/_build .pytest_cache .hypothesis
