from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"

    def ready(self) -> None:
        from genesys_gateway.event_sink import event_sink_register
        from webhooks.outbox.services import outbox_emit

        # Other apps (outbound's asynchronous deliveries) publish through the outbox too.
        event_sink_register(outbox_emit)
