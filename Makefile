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

.PHONY: book test lint unit nbval notebooks notebook bench browser constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-book: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e ".[book]"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e ".[book,test]"
	touch $@

## make book: render the HTML book to book/_build/html (warnings are errors).
book: $(VENV)/.installed-book
	$(BIN)/jupyter-book build book --all --warningiserror --keep-going

## make test: lint, unit tests, every notebook under nbval (strict), the book build, the browser check.
test: $(VENV)/.installed-test
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) nbval
	$(MAKE) book

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(VENV)/.installed-test
	$(BIN)/pytest tests

## make nbval [NB=book/x.ipynb]: compare every stored notebook output with a fresh run.
nbval: $(VENV)/.installed-test
	$(BIN)/pytest --nbval --nbval-current-env --nbval-sanitize-with $(SANITIZE) $(or $(NB),$(NOTEBOOKS))

## make notebooks: re-execute every notebook in place (make notebook NB=book/x.ipynb for one).
EXECUTE = $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	--ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False

notebooks: $(VENV)/.installed-test
	$(EXECUTE) $(NOTEBOOKS)

notebook: $(VENV)/.installed-test
	$(EXECUTE) $(NB)

## make bench: the article's network, 1000 steps, five ways, as ratios.
bench: $(VENV)/.installed-test
	$(BIN)/python -m mmtutorial.bench

constraints: $(BIN)/python
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > $(CONSTRAINTS)

clean:
	rm -rf book/_build .pytest_cache .hypothesis
