import uuid

from django.db import models

from tenants.models import Integration, Tenant


class GenesysToken(models.Model):
    """A tenant's cached OAuth token, shared by every process; encrypted at rest.

    One row per tenant; refreshing locks it (SELECT ... FOR UPDATE), so N workers that
    all find it stale cause one token request, not N.
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    access_token_encrypted = models.TextField(blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    fetch_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "Genesys token"

    def __str__(self) -> str:
        return f"token for {self.tenant}"


class GenesysRateLimit(models.Model):
    """A tenant's token bucket for Genesys API calls, shared by every process.

    `tokens` is the level at `updated_at`; it refills continuously and may go below zero,
    which means calls have reserved slots in the near future and are waiting for them.
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    tokens = models.FloatField()
    updated_at = models.DateTimeField()
    delayed_count = models.PositiveBigIntegerField(
        default=0, help_text="Calls that waited for the bucket."
    )
    rejected_count = models.PositiveBigIntegerField(
        default=0, help_text="Calls answered 503 because the wait would have been too long."
    )
    # The decision of the latest acquire, written and read back by the same UPDATE ...
    # RETURNING: seconds the caller waits, or -1 for "refused". Meaningless otherwise.
    last_wait_s = models.FloatField(default=0.0, editable=False)

    class Meta:
        verbose_name = "Genesys rate limit"

    def __str__(self) -> str:
        return f"rate limit for {self.tenant}"


class DeliveryState(models.TextChoices):
    # Claimed by a request that is calling Genesys now; repeats wait for it.
    PENDING = "pending"
    SENT = "sent"


class InboundMessage(models.Model):
    """A customer message sent to Genesys, keyed by its WhatsApp id for idempotency.

    The unique constraint is the claim: the request whose INSERT wins calls Genesys; a
    repeat reads (or waits for) the winner's result. A failed call deletes the claim.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=255)
    integration = models.ForeignKey(
        Integration, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=DeliveryState.choices)
    genesys_message_id = models.CharField(max_length=64, blank=True)
    conversation_id = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField()
    # Who holds the claim: a new value on every (re)claim; completion and release compare
    # it, so a request whose claim was taken over cannot touch the new owner's row.
    claim_token = models.UUIDField(default=uuid.uuid4)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "message_id"], name="outbound_inbound_message_once"
            )
        ]

    def __str__(self) -> str:
        return self.message_id


class InboundReceipt(models.Model):
    """A WhatsApp delivery status forwarded to Genesys, once per (message, status)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=255, help_text="The Genesys message id.")
    status = models.CharField(max_length=16, help_text="The WhatsApp status.")
    state = models.CharField(max_length=16, choices=DeliveryState.choices)
    claimed_at = models.DateTimeField()
    claim_token = models.UUIDField(default=uuid.uuid4)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "message_id", "status"], name="outbound_inbound_receipt_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"


class QueuedState(models.TextChoices):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class QueuedKind(models.TextChoices):
    MESSAGE = "message"
    RECEIPT = "receipt"
    TYPING = "typing"


class OutboundDelivery(models.Model):
    """A message, receipt or typing event accepted with `Prefer: respond-async`.

    Written in the request's transaction; Celery workers deliver it (outbound/services/
    deliveries.py). Life: queued -> sending (claimed, leased) -> delivered, or back to
    queued with a later next_attempt_at, or failed. Rows of one `customer_key` are
    delivered in id order: only the oldest unfinished row of a customer is ever claimed.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=QueuedKind.choices)
    # The idempotency key: the wamid for a message, "<genesys id>:<status>" for a receipt.
    key = models.CharField(max_length=300)
    # "<integration id>/<customer id>": the unit of ordering.
    customer_key = models.CharField(max_length=400)
    payload = models.JSONField(help_text="The validated request, as the worker replays it.")
    state = models.CharField(max_length=16, choices=QueuedState.choices, default=QueuedState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Transient failures are retried until then (GENESYS_DELIVERY_MAX_AGE_S after acceptance).
    give_up_at = models.DateTimeField()
    # Set when claimed; a `sending` row whose claim is older than the lease belongs to a
    # worker that died, and is claimed again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Genesys' HTTP status of the last failed attempt."
    )
    genesys_message_id = models.CharField(max_length=64, blank=True)
    conversation_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "queued delivery"
        verbose_name_plural = "queued deliveries"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "key"], name="outbound_delivery_once")
        ]
        indexes = [
            # The claim: the head (lowest id) of each customer's unfinished rows.
            models.Index(
                fields=["customer_key", "id"],
                name="outbound_delivery_open",
                condition=models.Q(state__in=["queued", "sending"]),
            ),
            models.Index(fields=["state", "next_attempt_at"], name="outbound_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
