# bailwatch: the commands a user types. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python

.PHONY: help venv run test services stop bench lint format backup restore

help:
	@echo "make run       set up everything and run the system with a live demo (Ctrl-C stops it)"
	@echo "make test      throwaway services + lint + the whole test suite"
	@echo "make services  start only PostgreSQL and Mosquitto (idempotent)"
	@echo "make stop      stop what the project started"
	@echo "make bench     run every benchmark under bench/ against the services"
	@echo "make lint      ruff check, ruff format --check, mypy"
	@echo "make backup    a base backup of the local PostgreSQL (WAL is archived continuously)"
	@echo "make restore   ARGS=\"--latest\" or ARGS=\"--to '2026-12-04 18:00:00+00'\" (README)"

venv:
	@bash deploy/bootstrap.sh

run: venv
	@bash deploy/run.sh

test: venv
	@bash deploy/test.sh $(ARGS)

services: venv
	@bash deploy/services.sh start

stop:
	@bash deploy/services.sh stop
	@BW_RUN_DIR=.run/test bash deploy/services.sh wipe >/dev/null 2>&1 || true

backup: venv services
	@bash deploy/backup.sh backup

restore:
	@bash deploy/backup.sh restore $(ARGS)

bench: venv services
	@bash deploy/bench.sh $(ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
