# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint bench install services-start services-stop clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Start the gateway on SQLite with a demo tenant; Ctrl-C stops everything it started.
run: $(STAMP)
	$(BIN)/python scripts/run.py

## Start PostgreSQL and RabbitMQ (scripts/services.sh), run pytest, stop them even on failure.
test: $(STAMP)
	scripts/services.sh start
	set -a; . "$${GW_SERVICES_DIR:-/tmp/genesys-gateway-services-$${GW_PORT_OFFSET:-0}}/env"; set +a; \
	trap 'scripts/services.sh stop' EXIT; \
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; \
	exit $$rc

## Generated-input tests at full size (docs/testing.md): schemathesis over the REST API
## (make test: about 500 requests) and the webhook property tests (make test: 200 each).
FUZZ_EXAMPLES ?= 5000
FUZZ_TESTS ?= tests/test_schemathesis.py tests/webhooks/test_webhook_properties.py
fuzz: $(STAMP)
	scripts/services.sh start
	set -a; . "$${GW_SERVICES_DIR:-/tmp/genesys-gateway-services-$${GW_PORT_OFFSET:-0}}/env"; set +a; \
	trap 'scripts/services.sh stop' EXIT; \
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest $(FUZZ_TESTS) --hypothesis-show-statistics $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports  # the import rules in pyproject.toml

bench: $(STAMP)
	scripts/services.sh start
	set -a; . "$${GW_SERVICES_DIR:-/tmp/genesys-gateway-services-$${GW_PORT_OFFSET:-0}}/env"; set +a; \
	trap 'scripts/services.sh stop' EXIT; \
	$(BIN)/python -m benchmarks

services-start:
	scripts/services.sh start

services-stop:
	scripts/services.sh stop

clean:
	rm -rf $(VENV) db.sqlite3 .mypy_cache .pytest_cache .ruff_cache
