# ConsentVault: `make run` starts the service on the embedded default (SQLite,
# local-memory cache) with demo data; `make test` runs the whole test suite
# against PostgreSQL and Redis.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

# The test stack: the local PostgreSQL and Redis unless the caller says otherwise.
# Not DATABASE_URL and REDIS_URL: the suite clears its cache keys, and should
# never touch the service's own data.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/consentvault
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test install install-dev bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

# Random secrets for this checkout, kept out of git in .env: Django's
# SECRET_KEY, a master key and the blind-index key (both 32 random bytes).
.env:
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "CONSENTVAULT_MASTER_KEYS=$$($(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" >> .env
	@echo "CONSENTVAULT_BLIND_INDEX_KEY=$$($(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" >> .env
	@echo "# Local trial: debug mode, so that rate limits may be counted per process without Redis." >> .env
	@echo "DEBUG=true" >> .env
	@echo "Wrote a new SECRET_KEY, CONSENTVAULT_MASTER_KEYS and CONSENTVAULT_BLIND_INDEX_KEY to .env"

run: install .env
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo_data
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo "Demo admin API key (scopes read, write, admin); send it as the X-Api-Key header:"
	@$(BIN)/python manage.py create_api_key --name "demo admin" --scope read --scope write --scope admin | tail -n 1
	@echo "Serving on http://127.0.0.1:$(PORT) (API docs at http://127.0.0.1:$(PORT)/v1/docs). Stop with Ctrl-C."
	$(BIN)/gunicorn -c docker/gunicorn_conf.py consentvault.wsgi

NEW_KEY = $(BIN)/python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'

test: install-dev
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" DEBUG=false \
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	CONSENTVAULT_MASTER_KEYS="$$($(NEW_KEY))" CONSENTVAULT_BLIND_INDEX_KEY="$$($(NEW_KEY))" \
	$(BIN)/pytest $(PYTEST_ARGS)

# Fuzz every endpoint from the OpenAPI schema (schemathesis) against a live
# server on a fresh PostgreSQL database; a few minutes.
fuzz: install-dev
	tests/fuzz/run.sh

bench: install-dev
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.reencrypt
	$(BIN)/python -m tests.bench.rotation_drill
	$(BIN)/python -m tests.bench.admin_pages

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
