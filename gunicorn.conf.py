"""Gunicorn settings, read automatically from the repository root.

Prometheus counters of several worker processes are merged through files in
PROMETHEUS_MULTIPROC_DIR; a dead worker's live gauges are dropped here.
"""

import os

from settings.checks import settings_refuse_misconfigured

# Checked here, in the master, so bad settings stop gunicorn once with one line instead of
# every worker failing to boot.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")
settings_refuse_misconfigured()

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Genesys waits 10 s for a webhook answer; never hold a request longer than that.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = None  # the request middleware logs each request as a JSON line


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]  # gunicorn Worker
