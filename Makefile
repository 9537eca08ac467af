# One entry point for people and CI. Every target installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONHASHSEED := 0
export TZ := UTC
# Jupyter keeps its config, runtime files and kernels inside the venv / the standard platform dirs.
export JUPYTER_PLATFORM_DIRS := 1

.PHONY: install system-deps test lint typecheck unit demo data lab bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the real-service tests use: chromium (browser check) and postgresql (shared-store tests).
# Installed with apt when missing and this user may (root, or passwordless sudo); otherwise the tests that need
# them report plainly that they did not run and how to enable them.
system-deps:
	@bash scripts/system-deps.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy --strict behest_lab

# The suite in TEST_WORKERS processes (pytest-xdist; `make unit TEST_WORKERS=0` runs it in one). `--dist loadfile`
# keeps each file in one worker: a notebook's cells share one kernel in order, and module-scoped stores are built
# once. A worker starts the services its tests need (PostgreSQL, S3 emulator, Redis, MariaDB) on free ports and has
# its own temp folder; in the checkout the tests only read (screenshots go to build/ under names of their own).
TEST_WORKERS ?= 2
unit: install system-deps
	$(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: lint typecheck unit

# The main job: builds (or reuses) the sample lake store in ./behest-data, executes the tour notebook and
# writes build/report.html.
demo: install
	$(BIN)/behest-lab demo

# Regenerates the committed sample in data/ (byte for byte the same on every run).
data: install
	$(BIN)/behest-lab sample-data data

# JupyterLab on the tutorials (as root, e.g. in a container, Jupyter insists on --allow-root).
lab: install
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .import_linter_cache
