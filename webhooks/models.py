from django.db import models
from django.db.models import Q

from tenants.models import Tenant


class OutboxMessage(models.Model):
    """One CloudEvent waiting for (or done with) publication to RabbitMQ.

    Written in the webhook's transaction; the relay publishes it and marks it published
    only after the broker confirms. Life: pending -> published, or pending -> dead after
    its retry budget (replay sets it back to pending). Unknown notification topics are
    recorded as ignored and never published.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        PUBLISHED = "published"
        DEAD = "dead"
        IGNORED = "ignored"

    # No index of its own: the unique (tenant, event_id) index leads with it, and every
    # index is one more write per webhook.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="outbox_messages", db_index=False
    )
    # The CloudEvent id: stable for one Genesys event, so redeliveries collide here.
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=64)
    # Events sharing an ordering key (conversation id, or user id for presence) are
    # published in id order.
    ordering_key = models.CharField(max_length=200)
    routing_key = models.CharField(max_length=255)
    cloud_event = models.JSONField(help_text="The CloudEvents 1.0 document, as published.")
    # Indexed in Meta.indexes: a plain B-tree, without the pattern-matching (LIKE) copy
    # that db_index=True adds to a CharField on PostgreSQL, which no query uses.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Counts only broker rejections/returns; an unreachable broker spends nothing.
    attempts = models.PositiveIntegerField(default=0)
    # Failed tries to copy an agent's attachments (webhooks/outbox/attachments.py); apart
    # from `attempts`, the broker's budget. A database default too, so rows written by
    # code from before the column (a rolling deploy, raw SQL) still insert.
    copy_attempts = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_id"], name="outbox_unique_event"),
        ]
        indexes = [
            models.Index(fields=["status"], name="outbox_status"),
            # The claim's window: the oldest pending rows, whatever else the table holds.
            models.Index(fields=["id"], name="outbox_pending_by_id", condition=Q(status="pending")),
            models.Index(
                fields=["ordering_key", "id"],
                name="outbox_pending_by_key",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"
