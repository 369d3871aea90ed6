import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.bare.settings"
application = get_wsgi_application()

from benchmarks.bare.views import table_create  # noqa: E402  (needs the app set up)

table_create()
