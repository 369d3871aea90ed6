from django.urls import URLPattern, path

from webhooks import views

urlpatterns: list[URLPattern] = [
    path(
        "genesys/open-messaging",
        views.genesys_open_messaging_webhook,
        name="webhook-genesys-open-messaging",
    ),
    path("genesys/events", views.genesys_events_webhook, name="webhook-genesys-events"),
]
