# Delivery Tickets. `make run` serves the helpdesk locally; `make test` runs the whole suite.
SHELL := /bin/bash
PY := .venv/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/deliverytickets
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The production smoke test's own stack (gunicorn, worker, beat): tests/test_production.py.
TEST_STACK_REDIS_URL ?= redis://127.0.0.1:6379/14

.PHONY: run setup test lint format worker beat bench bench-web clean

setup:
	@scripts/venv requirements.txt
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo

run: setup
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

test:
	@scripts/venv requirements-dev.txt
	@scripts/test-services
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	.venv/bin/lint-imports
	DEBUG=true $(PY) manage.py check
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
		TEST_STACK_REDIS_URL=$(TEST_STACK_REDIS_URL) SECRET_KEY=test-only \
		ALLOW_TEST_DOMAINS=true DEBUG=true $(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

worker:
	$(PY) -m celery -A deliverytickets worker -l info

beat:
	$(PY) -m celery -A deliverytickets beat -l info

bench:
	@scripts/venv requirements-dev.txt
	$(PY) bench/diagnose.py

# Page times at 1,000 and 100,000 tickets on PostgreSQL (docs/performance.md); it creates and
# drops its own databases, deliverytickets_bench_* (BENCH_DATABASE_URL names the server).
bench-web:
	@scripts/venv requirements-dev.txt
	$(PY) bench/web.py

clean:
	rm -rf .venv staticfiles .pytest_cache .ruff_cache
