"""gunicorn settings, each overridable from the environment.

Run with ``gunicorn -c docker/gunicorn_conf.py consentvault.wsgi``.
"""
import multiprocessing
import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
# Sync workers: one request at a time each. Two per core by default.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # seconds a request may take before its worker is killed
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # seconds
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))  # seconds
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))  # 0: workers are never recycled
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
# The application writes JSON logs to stdout; gunicorn's own error log goes to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Load the application in each worker after fork, so no database connection
# opened at import time is shared between processes. A graceful restart
# (SIGHUP) therefore also re-reads the env file in new workers.
preload_app = False
# The master's PID, for `kill -HUP "$(cat var/gunicorn.pid)"`.
pidfile = os.environ.get("GUNICORN_PIDFILE", "var/gunicorn.pid")
# gunicorn's control socket defaults to one path per user, which every instance
# on the machine shares. Signals and the pid file do the same job here.
control_socket_disable = True

# Prometheus multiprocess mode: every worker writes its metrics to files in this
# folder and /metrics sums them, so a counter never goes down whichever worker
# serves a scrape. Set before the workers import prometheus_client.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path("var") / "prometheus"))


def on_starting(server):
    """Empty the metrics folder: files left by an earlier run would be summed in."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """Mark a dead worker, so its live-only gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
