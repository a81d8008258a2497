# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test venv bytecode docs bench schema clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

# Compiled once here, so a run does not recompile the checker's modules at every start (40-60 ms of a
# 0.25 s check of 100 rows) where PYTHONDONTWRITEBYTECODE is set or the checkout is not writable at run time;
# the report writers too (reports/render.py and reports/ci.py are imported by every check).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q checker reports

## demo: set up, then check the bundled example manifest and write out/report.html (+ json)
demo: bytecode
	$(BIN)/checker check examples/manifest.csv --policy inpost-international \
	    --format text --format html --format json --output-dir out --fail-on never
	@echo "Open out/report.html in a browser."

## test: set up, validate the policies, run the policy test cases, build the docs strictly, run pytest
test: bytecode
	$(BIN)/checker validate
	$(BIN)/checker test --coverage --min-coverage 100
	$(BIN)/checker docs --output docs/policies --quiet
	$(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest

## docs: generate docs/policies/ from the policy files and build the site into site/
docs: $(STAMP)
	$(BIN)/checker docs --output docs/policies
	$(BIN)/mkdocs build --strict

## bench: 100 / 10 k / 100 k / 1 M rows through checker and the naive baseline; appends to bench/RESULTS.md
bench: bytecode
	$(BIN)/python bench/run.py

## schema: regenerate schema/policy.schema.json from the rule kinds
schema: $(STAMP)
	$(BIN)/checker schema --write

clean:
	rm -rf $(VENV) out site .pytest_cache
