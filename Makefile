# Two commands for a newcomer: `make run` and `make test`. Everything else is for maintainers.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# manage.py defaults to the production settings; the development commands say local.
LOCAL := DJANGO_SETTINGS_MODULE=loyalty_site.settings.local DEBUG=true

.PHONY: run test bench lint check messages clean install install-dev ci

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## Set everything up (venv, install, SQLite, migrations, demo programme, superuser) and serve.
run: install
	$(LOCAL) $(BIN)/python manage.py migrate --noinput
	$(LOCAL) $(BIN)/python manage.py load_demo
	$(LOCAL) $(BIN)/python manage.py ensure_superuser
	@echo "Admin: http://127.0.0.1:$(PORT)/admin/   POS API docs: http://127.0.0.1:$(PORT)/api/docs/"
	$(LOCAL) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## The whole test suite (SQLite by default; set DATABASE_URL for PostgreSQL).
test: install-dev
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## Benchmarks under bench/; results are written to bench/RESULTS.md.
bench: install-dev
	$(BIN)/python bench/run.py

## Recompile the translation catalogues after editing locale/*/LC_MESSAGES/django.po.
messages: install-dev
	$(BIN)/python locale/translate.py

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache .ruff_cache
