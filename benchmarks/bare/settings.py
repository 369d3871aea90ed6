"""Minimal settings for the bare baseline views: the database and nothing else."""

import environ

env = environ.Env()
SECRET_KEY = "bare-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "benchmarks.bare.urls"
DATABASES = {"default": env.db("DATABASE_URL")}
# The gateway keeps connections too (settings/base.py); a fair floor must as well.
DATABASES["default"]["CONN_MAX_AGE"] = 600
USE_TZ = True
