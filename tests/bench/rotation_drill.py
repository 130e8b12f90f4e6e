"""Rotate the master key while the API serves requests, and count failed requests.

Starts gunicorn (4 workers) whose keys come from an env file. Three clients
keep reading identifiers (pii), writing consents with evidence and reading
histories. Meanwhile the drill performs the runbook's rotation: new key first
in the list, graceful restart (SIGHUP), `reencrypt`, `check_keys`, old key
removed, graceful restart. Halfway through `reencrypt` it kills the
command and runs it again. Exits 1 if any request failed.
Run: `.venv/bin/python -m tests.bench.rotation_drill` (about a minute).
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

from consents.crypto import generate_key
from tests.bench.dataset import ROOT

PYTHON = str(ROOT / ".venv" / "bin" / "python")
DATABASE = "consentvault_rotation_drill"
PORT = 8040
SUBJECTS = 3000


def write_env_file(path, master_keys: str, base: dict) -> None:
    lines = {**base, "CONSENTVAULT_MASTER_KEYS": master_keys}
    path.write_text("".join(f"{name}={value}\n" for name, value in lines.items()))


def manage(env, *args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=check, capture_output=True, text=True)


def client_loop(kind: str, key: str, stop: threading.Event, results: Counter) -> None:
    number = 0
    while not stop.is_set():
        number += 1
        subject = f"subject-{number % SUBJECTS + 1}"
        if kind == "read":
            request = urllib.request.Request(f"http://127.0.0.1:{PORT}/v1/subjects/{subject}", headers={"X-Api-Key": key})
        elif kind == "history":
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/v1/subjects/{subject}/events?limit=5", headers={"X-Api-Key": key}
            )
        else:
            body = {"subject_id": subject, "purpose": "marketing-email", "action": "granted", "evidence": {"n": number}}
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/v1/consents",
                data=json.dumps(body).encode(),
                headers={"X-Api-Key": key, "Content-Type": "application/json"},
            )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                results[(kind, response.status)] += 1
        except urllib.error.HTTPError as error:
            results[(kind, error.code)] += 1
        except OSError as error:
            results[(kind, f"connection error: {error}")] += 1


def main() -> int:
    env_file = ROOT / "var" / "rotation-drill.env"
    env_file.parent.mkdir(exist_ok=True)
    old_key, new_key = generate_key(), generate_key()
    base = {"SECRET_KEY": secrets.token_urlsafe(50), "CONSENTVAULT_BLIND_INDEX_KEY": generate_key()}
    write_env_file(env_file, old_key, base)
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONSENTVAULT_")}
    env.update(
        CONSENTVAULT_ENV_FILE=str(env_file),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        PORT=str(PORT),
        GUNICORN_WORKERS="4",
    )
    env.pop("SECRET_KEY", None)

    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
    manage(env, "migrate", "--no-input")
    manage(env, "load_demo_data")
    manage(
        env,
        "shell",
        "-c",
        "from consents.subject_services import set_identifiers\n"
        f"for n in range(1, {SUBJECTS + 1}):\n"
        "    set_identifiers(subject_id=f'subject-{n}', email=f'person{n}@example.com', create=True)\n",
    )
    key = manage(env, "create_api_key", "--name", "drill", "--scope", "read", "--scope", "write", "--scope", "pii")
    api_key = key.stdout.strip().splitlines()[-1]

    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "docker/gunicorn_conf.py", "consentvault.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop, results = threading.Event(), Counter()
    clients = [threading.Thread(target=client_loop, args=(kind, api_key, stop, results)) for kind in ("read", "write", "history")]
    try:
        time.sleep(3)
        for client in clients:
            client.start()
        time.sleep(3)

        print("1. new key first, old key kept; graceful restart")
        write_env_file(env_file, f"{new_key},{old_key}", base)
        server.send_signal(signal.SIGHUP)
        time.sleep(4)

        print("2. reencrypt, killed after its first committed batches, then run again")
        partial = subprocess.Popen(
            [PYTHON, "manage.py", "reencrypt", "--batch-size", "200"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for line in partial.stderr:
            if line.startswith("re-wrapping: 400/"):
                break
        partial.kill()
        partial.wait()
        print("   " + manage(env, "reencrypt", "--batch-size", "200").stdout.strip().splitlines()[-1])
        print("   " + manage(env, "reencrypt").stdout.strip().splitlines()[-1])
        print("   " + "\n   ".join(manage(env, "check_keys").stdout.strip().splitlines()))

        print("3. old key removed; graceful restart")
        write_env_file(env_file, new_key, base)
        server.send_signal(signal.SIGHUP)
        time.sleep(4)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=15)
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"])
        env_file.unlink(missing_ok=True)

    total = sum(results.values())
    failed = {outcome: count for outcome, count in results.items() if outcome[1] not in (200, 201)}
    print(f"Requests: {total:,}; by kind and status: {dict(sorted(results.items(), key=str))}")
    print(f"Failed requests: {sum(failed.values())}")
    return 1 if failed or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
