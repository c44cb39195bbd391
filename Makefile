# The README's two commands: `make demo` (set up + a real search) and `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU wheel from local disk on dev/CI machines; GPU users: install your CUDA torch first, then
# `make setup TORCH_SPEC=`.
TORCH_SPEC ?= torch==2.13.0
# Exact versions of everything else for dev/CI (see the file's header); empty: the ranges only.
CONSTRAINTS ?= constraints.txt

.PHONY: setup lock browser postgres demo test test-fast lint typecheck bench mutation clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"; fi
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev]'
	touch $@

# Re-resolve the ranges in a scratch venv and write what they give today to constraints.txt.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	if [ -n "$(TORCH_SPEC)" ]; then .venv-lock/bin/python -m pip install --quiet "$(TORCH_SPEC)"; fi
	.venv-lock/bin/python -m pip install --quiet -e '.[dev,bench,mutation]'
	{ sed -n '/^#/p' constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable \
		| grep -viE '^(torch|nvidia-|triton|automl-rnn)'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .venv-lock

demo: setup
	$(BIN)/automl-rnn search --task air_passengers --trials 10

# The real-browser test of `automl-rnn ui` (tests/e2e/test_ui_browser.py) drives Debian's chromium
# (a distribution package, never a browser download). CI runs `make test` as root on a clean Debian
# machine: install it there. Elsewhere say so; that test then skips (and fails where CI is set).
CHROMIUM ?= /usr/bin/chromium

browser:
	@if [ -x "$(CHROMIUM)" ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
		|| echo "note: apt-get could not install chromium; the browser test cannot run"; \
	else \
		echo "note: $(CHROMIUM) is missing and this is not root with apt-get;" \
			"install Debian's chromium to run the browser test (it skips without it)"; \
	fi

# The team tracking server's test (tests/e2e/test_mlflow_folder.py) and the --storage tests
# (tests/e2e/test_postgres_storage.py) start a throwaway PostgreSQL cluster: Debian's postgresql package (initdb, pg_ctl), installed
# the same way when missing.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's postgresql for the database tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } \
		|| echo "note: apt-get could not install postgresql; the database tests cannot run"; \
	else \
		echo "note: PostgreSQL's initdb is missing and this is not root with apt-get;" \
			"install Debian's postgresql to run the database tests (they skip without it)"; \
	fi

test: setup browser postgres
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Mutation testing of the modules issue 17 names ([tool.mutmut] in pyproject.toml): every mutant
# runs the unit tests that cover it; the survivors are listed (judged in BENCHMARKS.md). About an
# hour on 2 cores; `make mutation MUTANTS="automl_rnn.data.metrics*"` mutates one module.
MUTANTS ?=
mutation: setup
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[mutation]'
	rm -rf mutants
	$(BIN)/mutmut run --max-children $$(nproc) $(MUTANTS) >/dev/null || true
	$(BIN)/mutmut results --all true | awk '{print $$2}' | sort | uniq -c
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
