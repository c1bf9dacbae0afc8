# pyramid-cookiecutter-uploads: everything a fresh machine with python3 and make needs.
#
#   make serve     bake the default project into build/serve and serve it on http://localhost:6543
#   make project   generate a project of your own, answering the questions
#   make test      run every test: the fast render tests, then each baked project's own suite
#
# `make serve PORT=8080` serves on another port; `make serve REBAKE=1` bakes
# the project again over your edits to it (scripts/bake-serve).
# `make project OUTPUT_DIR=~/src` writes the project elsewhere than next to
# this clone; `ARGS="--no-input project_name='Photo Share'"` skips the questions.
# `make test-fast` and `make test-slow` run the two halves alone.
# `make bench` runs the benchmarks (benchmarks/).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVE_DIR := build/serve
PROJECT := $(SERVE_DIR)/upload_service
PORT ?= 6543
REBAKE ?=
OUTPUT_DIR ?= ..
ARGS ?=

.PHONY: serve project test test-fast test-slow system-deps clean bench

# The template's own tooling (cookiecutter, pytest, uv...), in a virtualenv.
$(BIN)/cookiecutter: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# A busy port is one line (scripts/port-free), checked first and again just
# before pserve. scripts/bake-serve bakes only when the template changed,
# never over your edits to the project without saying so, and never touches
# its var/ (the files you uploaded).
serve: $(BIN)/cookiecutter
	@$(PYTHON) scripts/port-free $(PORT)
	@$(BIN)/python scripts/bake-serve $(SERVE_DIR) $(if $(REBAKE),--rebake)
	@test -x $(PROJECT)/.venv/bin/python || $(BIN)/uv venv --quiet --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(PROJECT)/.venv
	@$(BIN)/uv pip install --quiet --python $(PROJECT)/.venv/bin/python -e $(PROJECT)
	@$(PYTHON) scripts/port-free $(PORT)
	@cd $(PROJECT) && .venv/bin/alembic --quiet -c development.ini upgrade head  # the catalogue, created or upgraded
	@cd $(PROJECT) && .venv/bin/$(notdir $(PROJECT))-users development.ini add demo --generate --if-missing --url http://localhost:$(PORT)
	cd $(PROJECT) && .venv/bin/pserve development.ini http_port=$(PORT)

# Your own project: cookiecutter asks each question (Enter keeps the
# default), writes the project into OUTPUT_DIR (the directory holding this
# clone, unless given) and prints the commands that install and serve it.
project: $(BIN)/cookiecutter
	$(BIN)/cookiecutter --output-dir $(OUTPUT_DIR) $(CURDIR) $(ARGS)

# Chromium (for the browser tests), curl, libmagic and PostgreSQL, from Debian's packages when missing.
system-deps:
	scripts/system-deps

test: $(BIN)/cookiecutter system-deps
	$(BIN)/pytest

test-fast: $(BIN)/cookiecutter
	$(BIN)/pytest -m "not slow"

test-slow: $(BIN)/cookiecutter system-deps
	$(BIN)/pytest -m slow

# The performance benchmarks (results in README.md and benchmarks/RESULTS.md),
# each baking the default project under build/: uploads and downloads against
# the seed page's way and a two-copy `cp` limit (upload.py, ~14 GB free disk),
# the catalogue's listings at 100,000 files on SQLite and PostgreSQL
# (catalogue.py), the S3 backend on a one-node Ceph RGW against boto3 (s3.py),
# tus uploads against one request (tus.py), and the 1 GiB upload against the
# template before the catalogue (upload.py --compare). About 20 minutes in all;
# `make bench BENCH_ARGS=--quick` is the few-minute version for development.
QUICK := $(if $(findstring --quick,$(BENCH_ARGS)),--quick)
bench: $(BIN)/cookiecutter system-deps
	$(BIN)/python benchmarks/upload.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/upload.py --compare $(QUICK)
	$(BIN)/python benchmarks/catalogue.py $(QUICK)
	$(BIN)/python benchmarks/s3.py $(QUICK)
	$(BIN)/python benchmarks/tus.py $(QUICK)

# Also removes build/serve: the served project, its edits and its uploads.
clean:
	rm -rf build .pytest_cache
