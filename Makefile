# Wagehood: `make run` starts everything, `make test` proves it. `make help` lists the rest.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.install-stamp
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install browser run test test-long check format bench bench-quick clean

help: ## Show the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing wagehood and its dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install -q --upgrade pip setuptools wheel > $(VENV)/install.log 2>&1 \
		&& $(BIN)/python -m pip install -e '.[local,dev]' >> $(VENV)/install.log 2>&1 \
		|| { tail -40 $(VENV)/install.log; echo "install failed: see $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)
	@echo "installed (log: $(VENV)/install.log)"

install: $(STAMP) ## Create or refresh the virtualenv (fast when nothing changed)

# chromium + chromedriver for the browser tests, prometheus for `promtool check metrics`.
BROWSER_PACKAGES := chromium chromium-driver prometheus
browser: ## Install chromium, chromedriver and promtool for the tests that use them (as root; else they skip)
	@if command -v chromium > /dev/null && command -v chromedriver > /dev/null \
		&& command -v promtool > /dev/null; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then \
		echo "browser and promtool tests will skip: no chromium/chromedriver/promtool and not root with apt-get"; \
	else \
		echo "installing $(BROWSER_PACKAGES) for the browser and metrics tests ..."; \
		mkdir -p $(VENV); \
		export DEBIAN_FRONTEND=noninteractive; \
		{ apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES) > $(VENV)/browser-install.log 2>&1 \
			|| { apt-get update -q && apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES); } \
			>> $(VENV)/browser-install.log 2>&1; } \
		|| echo "could not install $(BROWSER_PACKAGES) (see $(VENV)/browser-install.log); their tests will skip"; \
	fi

run: install ## Start Redis (if needed), an API key, and web, worker, beat and flower
	@$(BIN)/wagehood admin service start-all

# Most of the suite's time is spent waiting on real processes (heartbeats, ticks, restarts), so
# a few pytest-xdist workers overlap those waits even on 2 cores. `--dist loadfile` keeps each
# file's tests (and its module-scoped system) on one worker. TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 3
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile

# Tests that assert a time bound (marked `alone`) run afterwards by themselves, as on a machine
# without the rest of the suite beside them; both parts always run, either failing fails.
test: install browser ## Run the whole test suite (real Redis, real workers)
	@status=0; $(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not alone" || status=$$?; \
		$(BIN)/python -m pytest -m alone || status=$$?; exit $$status

test-long: install browser ## Run the long soak, chaos and load tests too
	@status=0; WAGEHOOD_LONG=1 $(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not alone" || status=$$?; \
		WAGEHOOD_LONG=1 $(BIN)/python -m pytest -m alone || status=$$?; exit $$status

check: install ## Format check, lint, types and the import contract (what CI runs)
	@$(BIN)/ruff format --check .
	@$(BIN)/ruff check .
	@$(BIN)/mypy
	@$(BIN)/lint-imports

format: install ## Apply ruff formatting and safe fixes
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

bench: install ## Run every benchmark and rewrite docs/benchmarks.md
	@$(BIN)/python -m bench --write-docs

bench-quick: install ## A short benchmark run (under two minutes)
	@$(BIN)/python -m bench --quick

clean: ## Remove the virtualenv and caches (keeps .wagehood data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
