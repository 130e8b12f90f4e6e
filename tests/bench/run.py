"""Benchmark the API against gunicorn on PostgreSQL: `make bench`.

Loads (once, then reuses) a data set of 100,000 subjects, 10 purposes and
1,000,000 events into its own database, starts gunicorn with 4 workers, and
measures with wrk:

- a bare DRF view doing one primary-key SELECT (the baseline),
- single consent checks, GET /v1/subjects/{id}/consents/{purpose}, with and
  without authentication and rate limiting,
- event writes, POST /v1/consents,
- bulk checks of 10,000 ids, POST /v1/consents/check (sequential requests).

Prints a Markdown table and writes it, with the raw figures, to var/bench/.
Needs wrk (`apt-get install wrk`), PostgreSQL and Redis on 127.0.0.1.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from consents.crypto import parse_master_keys
from tests.bench.dataset import bench_keys, load_subjects

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PURPOSES = [f"purpose-{index}" for index in range(1, 11)]
SUBJECTS = 100_000
EVENTS = 1_000_000


def psql(sql: str, database: str = "postgres", capture: bool = False) -> str:
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        capture_output=capture,
        text=True,
    )
    return result.stdout.strip() if capture else ""


def service_env(database: str, port: int, workers: int) -> dict:
    env = dict(os.environ)
    env.update(bench_keys())
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="tests.bench.settings",
        GUNICORN_WORKERS=str(workers),
        PORT=str(port),
        LOG_LEVEL="WARNING",
        CONSENTVAULT_ENV_FILE="",
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return result.stdout


def prepare_database(database: str, env: dict, reload: bool) -> None:
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'", capture=True) == "1"
    if exists and not reload:
        events = psql("SELECT count(*) FROM consents_consentevent", database, capture=True)
        if int(events) >= EVENTS:
            print(f"Reusing database {database} ({events} events); pass --reload to rebuild it.")
            manage(env, "migrate", "--no-input")
            return
    print(f"Building database {database}: {SUBJECTS:,} subjects, {EVENTS:,} events (a few minutes)")
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database}")
    manage(env, "migrate", "--no-input")
    script = (
        "from consents import services\n"
        + "".join(
            f"services.create_purpose(slug='{slug}', title='{slug}', description='', legal_basis='consent',"
            f" validity_days={730 if index % 2 else 'None'}, text='Notice text of {slug}.')\n"
            for index, slug in enumerate(PURPOSES)
        )
    )
    manage(env, "shell", "-c", script)
    started = time.monotonic()
    ring = parse_master_keys(env["CONSENTVAULT_MASTER_KEYS"])
    load_subjects(env["DATABASE_URL"], SUBJECTS, env["CONSENTVAULT_MASTER_KEYS"], ring.primary)
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-q",
         "-f", str(ROOT / "tests" / "bench" / "load.sql")],
        check=True,
    )
    print(f"Loaded in {time.monotonic() - started:.0f} s")


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start within 30 s")


LUA_COMMON = """
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local key = "{key}"
local purposes = {{{purposes}}}
"""

LUA_SCRIPTS = {
    "bare": """
local first = {first_subject}
request = function()
  return wrk.format("GET", "/bench/bare/" .. (first + math.random(0, 99999)))
end
""",
    "open_check": """
request = function()
  local path = "/bench/open/subjects/subject-" .. math.random(1, 100000) .. "/consents/" .. purposes[math.random(1, 10)]
  return wrk.format("GET", path)
end
""",
    "check": """
request = function()
  local path = "/v1/subjects/subject-" .. math.random(1, 100000) .. "/consents/" .. purposes[math.random(1, 10)]
  return wrk.format("GET", path, {{["X-Api-Key"] = key}})
end
""",
    "write": """
request = function()
  local action = "granted"
  if math.random() < 0.3 then action = "withdrawn" end
  local body = '{{"subject_id": "subject-' .. math.random(1, 100000) .. '", "purpose": "' ..
    purposes[math.random(1, 10)] .. '", "action": "' .. action ..
    '", "source": "web", "evidence": {{"form": "signup", "page": "/join"}}}}'
  return wrk.format("POST", "/v1/consents", {{["X-Api-Key"] = key, ["Content-Type"] = "application/json"}}, body)
end
""",
}

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {}
    for percent, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE):
        percentiles[percent] = float(value) * _UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_second": rps,
        "p50_ms": percentiles.get("50"),
        "p99_ms": percentiles.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def run_wrk(script: Path, port: int, seconds: int, connections: int) -> dict:
    threads = min(2, connections)
    command = [
        "wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script),
        f"http://127.0.0.1:{port}",
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return parse_wrk(output)


def run_bulk(port: int, key: str, requests: int) -> dict:
    rng = random.Random(42)
    timings = []
    for _ in range(requests):
        ids = [f"subject-{rng.randint(1, SUBJECTS)}" for _ in range(10_000)]
        body = json.dumps({"purpose": rng.choice(PURPOSES), "subject_ids": ids}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/consents/check",
            data=body,
            headers={"X-Api-Key": key, "Content-Type": "application/json"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            assert response.status == 200
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "requests": requests,
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "max_ms": timings[-1],
    }


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="consentvault_bench", help="PostgreSQL database to (re)use")
    parser.add_argument("--reload", action="store_true", help="rebuild the data set even if it exists")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run, in seconds")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times each scenario runs, interleaved with the others; the median run is reported",
    )
    parser.add_argument("--connections", type=int, default=8, help="concurrent wrk connections")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--bulk-requests", type=int, default=30, help="sequential 10,000-id checks")
    parser.add_argument("--port", type=int, default=8020)
    arguments = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed; install it with `apt-get install wrk` and run again.")

    env = service_env(arguments.database, arguments.port, arguments.workers)
    prepare_database(arguments.database, env, arguments.reload)
    # Limits far above what the machine can serve: the benchmark measures the
    # cost of counting requests, not of rejecting them.
    key = manage(
        env, "create_api_key", "--name", "bench", "--scope", "read", "--scope", "write",
        "--rate-read", "100000000/m", "--rate-write", "100000000/m",
    ).strip().splitlines()[-1]
    first_subject = psql("SELECT min(id) FROM consents_subject", arguments.database, capture=True)

    server = subprocess.Popen(
        [GUNICORN, "-c", "docker/gunicorn_conf.py", "consentvault.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = {}
    try:
        wait_until_up(arguments.port)
        with tempfile.TemporaryDirectory() as folder:
            common = LUA_COMMON.format(key=key, purposes=", ".join(f'"{slug}"' for slug in PURPOSES))
            scripts = {}
            for name, body in LUA_SCRIPTS.items():
                scripts[name] = Path(folder) / f"{name}.lua"
                scripts[name].write_text(common + body.format(first_subject=first_subject))
                run_wrk(scripts[name], arguments.port, 3, arguments.connections)  # warm-up
            # Interleaving the rounds spreads the machine's own slow and fast
            # periods over every scenario, which keeps their ratios stable.
            runs = {name: [] for name in scripts}
            for round_number in range(1, arguments.rounds + 1):
                for name, script in scripts.items():
                    runs[name].append(run_wrk(script, arguments.port, arguments.seconds, arguments.connections))
                    print(f"round {round_number} {name}: {runs[name][-1]}")
            for name, measured in runs.items():
                results[name] = sorted(measured, key=lambda run: run["requests_per_second"])[len(measured) // 2]
            # One connection: the time a single request takes, with no queueing
            # and no other request competing for the CPU.
            single = {"open_check": [], "check": []}
            for round_number in range(1, arguments.rounds + 1):
                for name in single:
                    single[name].append(run_wrk(scripts[name], arguments.port, arguments.seconds, 1))
                    print(f"round {round_number} {name}, one connection: {single[name][-1]}")
            for name, measured in single.items():
                results[f"{name}_single"] = sorted(measured, key=lambda run: run["requests_per_second"])[len(measured) // 2]
        results["bulk"] = run_bulk(arguments.port, key, arguments.bulk_requests)
        print(f"bulk: {results['bulk']}")
    finally:
        server.terminate()
        server.wait(timeout=30)

    report(results, arguments)


def report(results: dict, arguments) -> None:
    bare = results["bare"]["requests_per_second"]
    lines = [
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {machine_description()}; "
        f"gunicorn {arguments.workers} sync workers, wrk -t2 -c{arguments.connections}, {arguments.seconds} s per run, "
        f"median of {arguments.rounds} interleaved runs per scenario, PostgreSQL and Redis on the same machine.",
        "",
        "| scenario | requests/s | share of bare view | p50 (ms) | p99 (ms) | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    scenarios = (
        ("bare", "bare DRF view, one PK SELECT"),
        ("open_check", "single check, no authentication or rate limiting"),
        ("check", "single check"),
        ("write", "event write"),
    )
    for name, label in scenarios:
        row = results[name]
        lines.append(
            f"| {label} | {row['requests_per_second']:.0f} | {row['requests_per_second'] / bare:.0%} | "
            f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['non_2xx']} |"
        )
    cost = 1 - results["check"]["requests_per_second"] / results["open_check"]["requests_per_second"]
    single_with, single_without = results["check_single"], results["open_check_single"]
    single_cost = 1 - single_with["requests_per_second"] / single_without["requests_per_second"]
    lines += [
        "",
        "Authentication and rate limiting, as a share of a single check's time:",
        f"- one connection at a time: {single_cost:.0%} "
        f"({1000 / single_without['requests_per_second']:.2f} → {1000 / single_with['requests_per_second']:.2f} ms "
        f"per request; p50 {single_without['p50_ms']:.2f} → {single_with['p50_ms']:.2f} ms);",
        f"- under saturation, {arguments.connections} connections: {cost:.0%} of the throughput "
        f"(p50 {results['open_check']['p50_ms']:.1f} → {results['check']['p50_ms']:.1f} ms).",
    ]
    bulk = results["bulk"]
    lines += [
        "",
        f"Bulk check of 10,000 ids, {bulk['requests']} sequential requests: p50 {bulk['p50_ms']:.0f} ms, "
        f"p99 {bulk['p99_ms']:.0f} ms, max {bulk['max_ms']:.0f} ms.",
    ]
    text = "\n".join(lines)
    print("\n" + text)
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}"
    (folder / f"results-{stamp}.md").write_text(text + "\n")
    (folder / f"results-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nWrote {folder}/results-{stamp}.md and .json")


if __name__ == "__main__":
    sys.exit(main())
