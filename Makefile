# The two commands: `make run` (embedded default) and `make test` (the whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test system-packages lint typecheck pytest-sqlite pytest-postgres bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

## Run FlowPilot on SQLite + in-process bus + file mailbox at http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/flowpilot db upgrade
	$(BIN)/flowpilot demo
	$(BIN)/flowpilot serve --host 127.0.0.1 --port 8000

## Lint, type-check and run the whole suite (SQLite; then PostgreSQL + Redis when their URLs are set)
test: $(STAMP) system-packages lint typecheck pytest-sqlite pytest-postgres

# Debian packages the suite drives: chromium (browser tests) and nginx (the production-shape
# test runs its own unprivileged nginx from a temp dir; it never uses the system service).
SYSTEM_PACKAGES := chromium:/usr/bin/chromium nginx:/usr/sbin/nginx

system-packages:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do \
	  test -x "$${entry#*:}" || missing="$$missing $${entry%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages for the tests:$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (the browser and production-shape tests need them)"; exit 1; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check flowpilot tests bench migrations
	$(BIN)/ruff format --check flowpilot tests bench migrations

typecheck: $(STAMP)
	$(BIN)/mypy

pytest-sqlite: $(STAMP)
	env -u FLOWPILOT_TEST_POSTGRES_URL -u FLOWPILOT_TEST_REDIS_URL $(BIN)/pytest -n auto -q

pytest-postgres: $(STAMP)
	@if [ -n "$$FLOWPILOT_TEST_POSTGRES_URL" ]; then \
	  echo "== again on PostgreSQL ($$FLOWPILOT_TEST_POSTGRES_URL) and Redis ($${FLOWPILOT_TEST_REDIS_URL:-in-process bus})"; \
	  $(BIN)/pytest -n auto -q; \
	else echo "FLOWPILOT_TEST_POSTGRES_URL not set: PostgreSQL run skipped (CI sets it)"; fi

clean:
	rm -rf $(VENV) flowpilot.db* mailbox .pytest_cache .mypy_cache .ruff_cache
