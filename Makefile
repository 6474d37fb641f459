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

.PHONY: setup sample lab report test lint typecheck pytest bench load browser clean wheel-smoke doctest

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-groups
	@touch $@

load: setup
	.venv/bin/spotlab --db $(DB) ingest data/

# lab and report load the bundled sample only into the sample database: a database of your
# own (DB=my.duckdb) is used as it is, never mixed with the SYNTHETIC sample or the
# catalog's estimated prices (`make load DB=...` adds them on purpose)
SAMPLE_DB := spotlab.duckdb
ifeq ($(DB),$(SAMPLE_DB))
sample: load
else
sample: setup
	@echo "using $(DB) as it is (the bundled sample is loaded only into $(SAMPLE_DB))"
endif

# jupyter refuses to run as root without --allow-root (containers, this CI machine)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# the pre-save hook keeps the shipped notebooks in their committed form: running them changes
# no tracked file (spotlab.notebook.normalize_notebook)
lab: sample
	SPOTLAB_DB=$(abspath $(DB)) .venv/bin/jupyter lab notebooks/ $(ROOT_FLAG) \
		--ContentsManager.pre_save_hook=spotlab.notebook.pre_save_hook $(LAB_ARGS)

report: sample
	.venv/bin/spotlab --db $(DB) report --out out/ --overwrite

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
	SPOTLAB_DB=:memory: .venv/bin/pytest -q -p no:cacheprovider --durations=12 tests notebooks --nbval-lax \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg

test: setup lint typecheck browser pytest doctest wheel-smoke

# The examples in the library's docstrings run too (`+SKIP` marks the few that need data).
doctest: setup
	SPOTLAB_DB=:memory: .venv/bin/pytest -q -p no:cacheprovider --doctest-modules spotlab

# The installed package must work without this repository: build the wheel, install it in
# a clean venv (the locked dependencies, from uv's cache) and run the CLI outside the tree:
# lint must still know the specs catalog (the misspelled spec) and coldstart the seed's
# load times, both shipped inside the package; the sample data, notebooks, examples and fleet
# results ship too (spotlab/bundled.py), so a report runs notebooks 01 (the bundled replay
# server) and 03 (the event examples) from the installed package.
SMOKE := .wheel-smoke
wheel-smoke: setup
	@rm -rf $(SMOKE) && mkdir -p $(SMOKE)/run
	$(UV) build -q --wheel --out-dir $(SMOKE)/dist
	$(UV) export -q --frozen --no-dev --no-emit-project --no-hashes -o $(SMOKE)/requirements.txt
	$(UV) venv -q $(SMOKE)/venv
	UV_LINK_MODE=hardlink UV_COMPILE_BYTECODE=0 $(UV) pip install -q --python $(SMOKE)/venv/bin/python \
		-r $(SMOKE)/requirements.txt $(SMOKE)/dist/*.whl
	cp examples/eas/seed_spot_only.json $(SMOKE)/run/service.json
	cd $(SMOKE)/run && ../venv/bin/python -c "import spotlab, sys; \
		sys.exit('spotlab imported from ' + spotlab.__file__) if '/venv/' not in spotlab.__file__ else None"
	cd $(SMOKE)/run && { SPOTLAB_DB=none.duckdb ../venv/bin/spotlab lint service.json > lint.txt; \
		test $$? -eq 1; } && grep -q "Did you mean 'ecs.gn8is-8x.32xlarge'" lint.txt
	cd $(SMOKE)/run && SPOTLAB_DB=none.duckdb ../venv/bin/spotlab coldstart --model-size-gb 7.2 \
		| grep -q "shipped with spotlab"
	cd $(SMOKE)/run && ../venv/bin/python -c "from spotlab.bundled import PACKAGED, bundled; \
		from spotlab.fleet.evaluate import load_results; from spotlab.htmlreport import notebook_paths; \
		assert bundled('data').is_relative_to(PACKAGED), bundled('data'); \
		assert len(notebook_paths()) == 7 and load_results()['traces']"
	cd $(SMOKE)/run && ../venv/bin/spotlab --db report.duckdb ingest --sample > ingest.txt
	cd $(SMOKE)/run && SPOTLAB_DB=report.duckdb ../venv/bin/spotlab report --out report \
		--notebook 01_fetch --notebook 03_interruptions_and_ordering 2> report.txt \
		&& test -s report/notebooks/03_interruptions_and_ordering.html || { cat report.txt; exit 1; }
	@rm -rf $(SMOKE) && echo "wheel-smoke: the installed wheel lints, predicts cold starts and runs its notebooks"

bench: setup
	.venv/bin/python benchmarks/ingest.py
	.venv/bin/python benchmarks/bids.py
	.venv/bin/python benchmarks/fleet.py
	.venv/bin/python benchmarks/widgets.py

clean:
	rm -rf .venv out .mypy_cache .ruff_cache
