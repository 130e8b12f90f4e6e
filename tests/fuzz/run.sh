#!/usr/bin/env bash
# Fuzz the API from its own OpenAPI schema with schemathesis: start gunicorn
# on a fresh PostgreSQL database, create an admin key, run every check, stop.
# use_after_free is left out on purpose: DELETE revokes a key or erases a
# subject, and both stay readable afterwards (the audit trail, the ledger).
# Usage: tests/fuzz/run.sh [extra schemathesis options]
set -euo pipefail
cd "$(dirname "$0")/../.."

port="${FUZZ_PORT:-8011}"
database="consentvault_fuzz_$$"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${database}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/14}"
export DEBUG=false
new_key() { .venv/bin/python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'; }
SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')"
CONSENTVAULT_MASTER_KEYS="$(new_key)"
CONSENTVAULT_BLIND_INDEX_KEY="$(new_key)"
export SECRET_KEY CONSENTVAULT_MASTER_KEYS CONSENTVAULT_BLIND_INDEX_KEY
export CONSENTVAULT_ENV_FILE=""
# The fuzzer sends thousands of requests a minute; limits high enough not to
# interfere keep it testing the schema. tests/test_rate_limits.py covers limits.
export CONSENTVAULT_RATE_READ=1000000/m CONSENTVAULT_RATE_WRITE=1000000/m CONSENTVAULT_RATE_ANON=1000000/m

psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE ${database}"
cleanup() {
    [ -n "${server_pid:-}" ] && kill "${server_pid}" 2>/dev/null && wait "${server_pid}" 2>/dev/null
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${database}" || true
}
trap cleanup EXIT

.venv/bin/python manage.py migrate --no-input --verbosity 0
.venv/bin/python manage.py load_demo_data >/dev/null
key="$(.venv/bin/python manage.py create_api_key --name fuzz --scope read --scope write --scope pii --scope admin | tail -n 1)"

PORT="${port}" GUNICORN_WORKERS=2 .venv/bin/gunicorn -c docker/gunicorn_conf.py consentvault.wsgi >"/tmp/consentvault-fuzz-$$.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
    curl -fs "http://127.0.0.1:${port}/livez" >/dev/null && break
    sleep 0.2
done

.venv/bin/schemathesis --config-file tests/fuzz/schemathesis.toml run "http://127.0.0.1:${port}/v1/schema" \
    --header "X-Api-Key: ${key}" --checks all --max-examples "${FUZZ_EXAMPLES:-100}" \
    --exclude-checks use_after_free \
    --generation-database none "$@"
