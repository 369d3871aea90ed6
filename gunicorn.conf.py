"""Gunicorn settings, read automatically from the repository root.

Production runs two services from this file (docs/operations.md): GATEWAY_POOL=webhooks
for Genesys' webhooks and GATEWAY_POOL=api for the WABA API, admin and docs, so a slow
Genesys, which holds API threads for many seconds, never holds a webhook. Each pool has
its own defaults below; GUNICORN_* variables override them.

Prometheus counters of several worker processes are merged through files in
PROMETHEUS_MULTIPROC_DIR; a dead worker's live gauges are dropped here.
"""

import os

from settings.checks import settings_refuse_misconfigured

# Checked here, in the master, so bad settings stop gunicorn once with one line instead of
# every worker failing to boot.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")
settings_refuse_misconfigured()

pool = os.environ.get("GATEWAY_POOL", "all")
# API threads mostly wait on Genesys: more of them than GENESYS_MAX_CONCURRENT_CALLS (12),
# so a call beyond the cap is answered 503 at once instead of waiting for a thread.
_THREADS = {"api": "16", "webhooks": "4", "all": "4"}
_PORTS = {"api": "8000", "webhooks": "8001", "all": "8000"}

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{_PORTS.get(pool, '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", _THREADS.get(pool, "4")))
# Genesys waits 10 s for a webhook answer; never hold a request longer than that.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = None  # the request middleware logs each request as a JSON line


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]  # gunicorn Worker
