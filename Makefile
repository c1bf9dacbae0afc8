# pyramid-cookiecutter-uploads: everything a fresh machine with python3 and make needs.
#
#   make serve   bake the default project into build/serve and serve it on http://localhost:6543
#                (another port: make serve PORT=8080)
#   make test    run every test: the fast render tests, then each baked project's own suite
#
# `make test-fast` and `make test-slow` run the two halves alone.
# `make bench` runs the upload benchmark (benchmarks/upload.py).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVE_DIR := build/serve
PROJECT := $(SERVE_DIR)/upload_service
PORT ?= 6543

.PHONY: serve test test-fast test-slow system-deps clean bench

# The template's own tooling (cookiecutter, pytest, uv...), in a virtualenv.
$(BIN)/cookiecutter: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Re-baking over an existing project keeps its var/ (the files you uploaded).
serve: $(BIN)/cookiecutter
	$(BIN)/cookiecutter --no-input --overwrite-if-exists --output-dir $(SERVE_DIR) $(CURDIR)
	test -x $(PROJECT)/.venv/bin/python || $(BIN)/uv venv --quiet --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(PROJECT)/.venv
	$(BIN)/uv pip install --quiet --python $(PROJECT)/.venv/bin/python -e $(PROJECT)
	cd $(PROJECT) && .venv/bin/pserve development.ini http_port=$(PORT)

# Chromium (for the browser tests) and curl, from Debian's packages when missing.
system-deps:
	scripts/system-deps

test: $(BIN)/cookiecutter system-deps
	$(BIN)/pytest

test-fast: $(BIN)/cookiecutter
	$(BIN)/pytest -m "not slow"

test-slow: $(BIN)/cookiecutter system-deps
	$(BIN)/pytest -m slow

# The performance benchmark (benchmarks/upload.py; results in benchmarks/RESULTS.md):
# bakes the default project into build/bench and measures it against the seed
# page's way and a two-copy `cp` limit. Needs ~14 GB free disk, about 5 minutes.
# `make bench BENCH_ARGS=--quick` is the few-minute version for development.
bench: $(BIN)/cookiecutter
	command -v curl >/dev/null || scripts/system-deps
	$(BIN)/python benchmarks/upload.py $(BENCH_ARGS)

clean:
	rm -rf build .pytest_cache
