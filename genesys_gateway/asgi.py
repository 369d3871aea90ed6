import os

from django.core.asgi import get_asgi_application

from settings.checks import settings_refuse_misconfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")
settings_refuse_misconfigured()

application = get_asgi_application()
