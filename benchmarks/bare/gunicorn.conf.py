"""Gunicorn settings of the bare baseline: the gateway's shape (gunicorn.conf.py), nothing
else. Its own file, because the gateway's loads the gateway's Django settings in the
master, which the forked bare workers would inherit."""

import os

bind = os.environ["GUNICORN_BIND"]
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
accesslog = None
