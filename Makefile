# The two commands a new user runs (see README.md):
#   make demo   — set up and run the product on SQLite with eager Celery and demo data
#   make test   — set up and run the whole test suite (PostgreSQL, Redis, Dovecot, Chromium)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint bench venv

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[test]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py migrate --noinput
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py seed_demo
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py faq_refresh --as-of 2026-09-27
	@echo "Open http://$(HOST):$(PORT)/ — users and passwords are printed above."
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py runserver $(HOST):$(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv
	eval "$$(scripts/services.sh)" && \
	$(VENV)/bin/ruff check . && \
	$(VENV)/bin/ruff format --check . && \
	$(VENV)/bin/mypy && \
	$(PY) manage.py makemigrations --check --dry-run && \
	$(VENV)/bin/python -m pytest -p no:cacheprovider && \
	env -u DATABASE_URL $(VENV)/bin/python -m pytest -p no:cacheprovider -q -m "not browser and not celery_worker and not imap and not postgres"

bench: venv
	$(VENV)/bin/pip install -q -e ".[test,bench]"
	eval "$$(scripts/services.sh)" && $(PY) bench/run_all.py
