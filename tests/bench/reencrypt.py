"""Benchmark `manage.py reencrypt`: subjects per second and peak memory at several table sizes.

For each size it builds a database of that many subjects whose data keys are
wrapped by an old master key. It then times `manage.py reencrypt` with a new
primary key in front of the old one, and reads the command's peak resident
memory from getrusage. Flat memory across sizes shows that the
command does not load the table. Part of `make bench`; alone:
`.venv/bin/python -m tests.bench.reencrypt --sizes 250000,1000000`.
"""
import argparse
import datetime
import json
import os
import secrets
import subprocess
import sys
import time

from consents.crypto import generate_key, parse_master_keys
from tests.bench.dataset import ROOT, load_subjects

PYTHON = str(ROOT / ".venv" / "bin" / "python")


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def measure(size: int, database: str) -> dict:
    old_key, new_key = generate_key(), generate_key()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        CONSENTVAULT_MASTER_KEYS=old_key,
        CONSENTVAULT_BLIND_INDEX_KEY=generate_key(),
        CONSENTVAULT_ENV_FILE="",
        LOG_LEVEL="WARNING",
    )
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database}")
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    load_subjects(env["DATABASE_URL"], size, old_key, parse_master_keys(old_key).primary)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qc", "ANALYZE"], check=True)

    env["CONSENTVAULT_MASTER_KEYS"] = f"{new_key},{old_key}"
    started = time.monotonic()
    result = subprocess.run([PYTHON, "-c", _MEASURE_CHILD], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    seconds = time.monotonic() - started
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    psql(f"DROP DATABASE IF EXISTS {database}")
    return {
        "subjects": size,
        "seconds": seconds,
        "per_second": size / seconds,
        "peak_rss_mib": measured["peak_kib"] / 1024,
        "summary": measured["summary"],
    }


# Runs reencrypt as its only child, so getrusage(RUSAGE_CHILDREN) is that command's own peak memory.
_MEASURE_CHILD = """
import json, resource, subprocess, sys
done = subprocess.run([sys.executable, "manage.py", "reencrypt"], check=True, capture_output=True, text=True)
print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "summary": done.stdout.strip().splitlines()[-1]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250000,1000000", help="comma-separated subject counts, increasing")
    parser.add_argument("--database", default="consentvault_bench_reencrypt")
    arguments = parser.parse_args()
    sizes = sorted(int(size) for size in arguments.sizes.split(","))

    rows = []
    for size in sizes:
        print(f"reencrypt benchmark: {size:,} subjects …", flush=True)
        row = measure(size, arguments.database)
        print(f"  {row}", flush=True)
        rows.append(row)

    lines = [
        f"reencrypt, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, default batch size:",
        "",
        "| subjects | seconds | subjects/s | peak RSS of the command (MiB) |",
        "|---:|---:|---:|---:|",
    ]
    for row in rows:
        peak = f"{row['peak_rss_mib']:.0f}"
        lines.append(f"| {row['subjects']:,} | {row['seconds']:.1f} | {row['per_second']:,.0f} | {peak} |")
    print("\n".join(lines))
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}"
    (folder / f"reencrypt-{stamp}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
