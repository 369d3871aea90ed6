"""Admin for the outbox: read-only rows, with dead letters findable and replayable."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks.models import OutboxMessage
from webhooks.outbox.services import outbox_replay


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "tenant",
        "event_type",
        "ordering_key",
        "status",
        "attempts",
        "created_at",
        "published_at",
        "last_error_short",
    ]
    list_filter = ["status", "tenant", "event_type"]
    search_fields = ["event_id", "ordering_key", "routing_key"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["replay"]
    # Rows are written by webhooks and moved by the relay; editing one by hand would break
    # the guarantees, so the only change an operator can make is a replay.
    readonly_fields = [
        "tenant",
        "event_id",
        "event_type",
        "ordering_key",
        "routing_key",
        "cloud_event",
        "status",
        "attempts",
        "copy_attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "published_at",
    ]

    @admin.display(description="last error")
    def last_error_short(self, obj: OutboxMessage) -> str:
        return obj.last_error[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(
        description="Replay selected dead rows (back to pending, fresh budget)",
        permissions=["change"],
    )
    def replay(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.filter(status=OutboxMessage.Status.DEAD).values_list("id", flat=True))
        count = outbox_replay(ids=ids)
        skipped = queryset.count() - count
        self.message_user(request, f"Replayed {count} dead rows.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} rows that were not dead.", messages.WARNING
            )
