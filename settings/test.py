"""Test settings: base plus what tests need. PostgreSQL comes from DATABASE_URL."""

from settings.base import *  # noqa: F403  # settings modules extend base by design

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Fixed test keys; production keys come only from the environment.
FIELD_ENCRYPTION_KEYS = ["8S4vNHLPm4-Ki3wnomA1U4Q_kfn0E0dO3xb4rnEGBQo="]
# Long enough for the start-up check (settings/checks.py) that every entry point runs.
SECRET_KEY = "test-only-secret-key-4f9c2b7e1d8a6035c4b1e9f2a7d3086b5e1c"
LOGGING = {"level": "WARNING"}
# No collectstatic before tests: let whitenoise look files up on demand.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# The recorded Genesys example payloads are dated January 2026 and must stay acceptable;
# tests of the age limit set it back to the retention (tests/webhooks/test_replays.py).
WEBHOOK_MAX_EVENT_AGE_HOURS = 24 * 365 * 100.0
# Each test sees the state it set up at once; tests/test_operations.py turns the caches
# on where they are under test.
READYZ_CACHE_S = 0.0
METRICS_DB_CACHE_S = 0.0
