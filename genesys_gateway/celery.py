"""The Celery app: workers (`celery -A genesys_gateway worker`) and beat."""

import os

from celery import Celery

from settings.checks import settings_refuse_misconfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")
settings_refuse_misconfigured()

app = Celery("genesys_gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
