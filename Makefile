# spotlab: the README's commands. Everything a fresh machine needs is installed here.
SHELL := /bin/bash
export UV_COMPILE_BYTECODE := 1
export UV_PROJECT_ENVIRONMENT := .venv
export UV_LINK_MODE := copy
UV := python3 -m uv
PY := .venv/bin/python
DB ?= spotlab.duckdb
LAB_ARGS ?=
BROWSER_DEPS := /usr/bin/chromium

.PHONY: setup lab report test lint typecheck pytest bench load browser clean

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-groups
	@touch $@

load: setup
	.venv/bin/spotlab --db $(DB) ingest data/

# jupyter refuses to run as root without --allow-root (containers, this CI machine)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# the pre-save hook keeps the shipped notebooks in their committed form: running them changes
# no tracked file (spotlab.notebook.normalize_notebook)
lab: load
	SPOTLAB_DB=$(abspath $(DB)) .venv/bin/jupyter lab notebooks/ $(ROOT_FLAG) \
		--ContentsManager.pre_save_hook=spotlab.notebook.pre_save_hook $(LAB_ARGS)

report: load
	.venv/bin/spotlab --db $(DB) report --out out/

lint: setup
	.venv/bin/ruff check spotlab tests benchmarks tools
	.venv/bin/ruff format --check spotlab tests benchmarks tools

typecheck: setup
	.venv/bin/mypy

# Debian's Chromium for the real-browser notebook test (no browser download).
browser:
	@test -x $(BROWSER_DEPS) || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium unavailable: the browser test will skip"

# Notebooks run on the bundled data (SPOTLAB_DB=:memory:), whatever database is lying around;
# cells marked NBVAL_CHECK_OUTPUT must print what is stored in them.
pytest: setup
	SPOTLAB_DB=:memory: .venv/bin/pytest -q -p no:cacheprovider tests notebooks --nbval-lax \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg

test: setup lint typecheck browser pytest

bench: setup
	.venv/bin/python benchmarks/ingest.py
	.venv/bin/python benchmarks/bids.py
	.venv/bin/python benchmarks/fleet.py
	.venv/bin/python benchmarks/widgets.py

clean:
	rm -rf .venv out .mypy_cache .ruff_cache
