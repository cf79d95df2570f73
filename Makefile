# agentmesh: the front door. `make run` starts the mesh, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RUN_DIR ?= .run
export XDG_RUNTIME_DIR ?= /tmp/runtime-$(shell id -u)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test unit e2e setup model lint format proto proto-check buf-breaking imports bench clean help

help:
	@echo "make run    - set up and start the whole mesh locally (Ctrl-C stops it)"
	@echo "make test   - set up and run every check and test (parallel, with a coverage total)"
	@echo "make unit   - unit tests only: no infrastructure, under a minute"
	@echo "make e2e    - end-to-end tests: the whole mesh as processes (slow)"
	@echo "make bench  - every benchmark beside its raw part; a report in bench/results/ and the README's Performance table"
	@echo "make lint | format | proto | proto-check | buf-breaking | imports | clean"

setup:
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	@./scripts/setup.sh

# The tiny random-weight model, unless AGENTMESH_MODEL names a real one.
model: setup
	@if [ -z "$$AGENTMESH_MODEL" ]; then $(PY) -m agentmesh_inference.tiny_model $(RUN_DIR)/models/tiny-llama; fi

run: setup model
	@$(PY) -m agentmesh_devstack run --run-dir $(RUN_DIR)

# Test lanes (docs/DEVELOPING.md). `make test` runs every test on PYTEST_WORKERS pytest-xdist
# workers, each its own session (temp dir, free ports, its own PostgreSQL/NATS/Temporal);
# --dist loadgroup keeps the users of one expensive fixture (the mesh, a vLLM engine, the
# embedding model) on one worker, so each is built once. Coverage: total over libs and services.
# Each lane keeps its temp dirs (PostgreSQL data and sockets, NATS, Temporal) under its own
# basetemp in the checkout: pytest's shared /tmp/pytest-of-<user> keeps only the newest three
# sessions and deletes older ones, even while a concurrent session's servers still run there.
PYTEST_WORKERS ?= 2
PYTEST_TMP ?= .tmp/pytest
test: setup lint typecheck
	@mkdir -p $(PYTEST_TMP)
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup --cov --cov-report= --basetemp=$(PYTEST_TMP)/test --durations=15
	@echo "coverage (lines, libs + services, in-process): $$($(VENV)/bin/coverage report --format=total)%"

unit: setup
	@mkdir -p $(PYTEST_TMP)
	$(VENV)/bin/pytest -m unit --basetemp=$(PYTEST_TMP)/unit

e2e: setup
	@mkdir -p $(PYTEST_TMP)
	$(VENV)/bin/pytest tests/e2e --basetemp=$(PYTEST_TMP)/e2e

lint: setup proto-check buf-breaking imports deadcode
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/buf lint
	$(VENV)/bin/buf format -d --exit-code

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/buf format -w

proto: setup
	@./scripts/gen_protos.sh

# Fails when the committed stubs differ from what protos/ generates.
proto-check: setup
	@tmp=$$(mktemp -d) && ./scripts/gen_protos.sh $$tmp && \
	  if diff -r -q $$tmp/agentmesh libs/contracts/src/agentmesh -x __pycache__; then rm -rf $$tmp; echo "proto-check: stubs are fresh"; \
	  else rm -rf $$tmp; echo "proto-check: stubs are stale, run 'make proto'"; exit 1; fi

# Wire compatibility against the previous commit (skipped when there is none).
buf-breaking: setup
	@./scripts/buf_breaking.sh

imports: setup
	$(VENV)/bin/lint-imports

# Unused code. Tests and benches count as users (and are checked too); what only frameworks
# reach is ignored by pattern here or listed in scripts/vulture_whitelist.py.
.PHONY: deadcode
deadcode: setup
	$(VENV)/bin/vulture libs/*/src services/*/src libs/*/tests services/*/tests services/*/bench libs/*/bench tests scripts/vulture_whitelist.py \
	  --exclude libs/contracts/src --min-confidence 60 \
	  --ignore-decorators "@router.*,@model_validator,@field_validator,@pytest.fixture" \
	  --ignore-names "upgrade,downgrade,revision,down_revision,branch_labels,depends_on,intercept_*,pytest_*"

# Types: mypy over every lib's and service's src (settings in pyproject.toml [tool.mypy]).
.PHONY: typecheck
typecheck: setup
	$(VENV)/bin/mypy

# Each benchmark's output goes to bench/results/<UTC time>/<name>.txt as well as the terminal;
# the comparisons it records (agentmesh_devstack.bench) become report.md and report.html there,
# and the README's Performance table.
BENCHES := services/inference/bench/bench_batching.py services/inference/bench/bench_front_door.py \
	services/memory/bench/bench_memory.py services/scheduler/bench/bench_jobs.py \
	services/gateway/bench/bench_login_flood.py services/gateway/bench/bench_tracing.py \
	services/gateway/bench/bench_gateway_hop.py libs/grpc/bench/bench_identity.py \
	libs/events/bench/bench_nats_auth.py services/memory/bench/bench_noisy_neighbour.py \
	services/agents/bench/bench_react.py services/agents/bench/bench_round_trip.py services/agents/bench/bench_topics.py \
	services/agents/bench/bench_parked.py
bench: setup
	@results=bench/results/$$(date -u +%Y%m%dT%H%M%SZ) && mkdir -p $$results && \
	export AGENTMESH_BENCH_RESULTS=$$PWD/$$results/figures.jsonl && status=0 && \
	for bench in $(BENCHES); do \
	  echo "== $$bench ($$(cut -d' ' -f1-3 /proc/loadavg) load)"; \
	  set -o pipefail; $(PY) $$bench 2>&1 | tee $$results/$$(basename $$bench .py).txt || status=1; \
	done; \
	$(PY) -m agentmesh_devstack.bench_report $$results --readme README.md; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .tmp
	@echo "kept $(RUN_DIR) (your data); remove it by hand to start over"
