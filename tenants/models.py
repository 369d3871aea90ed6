from dataclasses import dataclass

from django.db import models
from django.db.models.functions import Now

from tenants import crypto
from tenants.regions import REGION_CHOICES, region_urls


@dataclass(frozen=True)
class GenesysCredentials:
    client_id: str
    client_secret: str
    login_base_url: str
    api_base_url: str

    def __repr__(self) -> str:  # never let the secret reach a log through repr()
        return f"GenesysCredentials(client_id={self.client_id!r}, api={self.api_base_url!r})"


class Tenant(models.Model):
    """One WABA customer organisation with its own Genesys Cloud org."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=64, choices=REGION_CHOICES)
    api_base_url = models.URLField(blank=True, help_text="Only for region 'custom'.")
    login_base_url = models.URLField(blank=True, help_text="Only for region 'custom'.")
    client_id = models.CharField(max_length=200)
    client_secret_encrypted = models.TextField(editable=False)
    events_secret_encrypted = models.TextField(blank=True, editable=False)
    organization_id = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="Filled in by verify."
    )
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def set_client_secret(self, secret: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(secret)

    def set_events_secret(self, secret: str) -> None:
        self.events_secret_encrypted = crypto.encrypt(secret)

    def genesys_credentials(self) -> GenesysCredentials:
        urls = region_urls(
            self.region, login_base_url=self.login_base_url, api_base_url=self.api_base_url
        )
        return GenesysCredentials(
            client_id=self.client_id,
            client_secret=crypto.decrypt(self.client_secret_encrypted),
            login_base_url=urls.login_base_url,
            api_base_url=urls.api_base_url,
        )

    def events_secret(self) -> str:
        """The events webhook secret, or "" when none is set."""
        if not self.events_secret_encrypted:
            return ""
        return crypto.decrypt(self.events_secret_encrypted)


class Integration(models.Model):
    """A Genesys Open Messaging integration, with its webhook signing secret(s)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="integrations")
    integration_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(editable=False)
    # Accepted as well while Genesys is switched to the new secret; cleared afterwards.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["integration_id"]

    def __str__(self) -> str:
        return self.integration_id

    def set_secret(self, secret: str, *, keep_previous: bool) -> None:
        self.previous_secret_encrypted = self.secret_encrypted if keep_previous else ""
        self.secret_encrypted = crypto.encrypt(secret)

    def webhook_secrets(self) -> list[str]:
        """Secrets a webhook signature may be made with, current first."""
        tokens = [self.secret_encrypted, self.previous_secret_encrypted]
        return [crypto.decrypt(token) for token in tokens if token]


class ApiKey(models.Model):
    """A WABA platform key. Only its SHA-256 is stored; the key is shown once."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, help_text="First characters, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.tenant.slug})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Conversation(models.Model):
    """The routing map and a little state: which tenant a Genesys conversation belongs to."""

    class State(models.TextChoices):
        ACTIVE = "active"
        DISCONNECTED = "disconnected"

    conversation_id = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="conversations")
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer_id = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    last_event_type = models.CharField(max_length=64, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["integration", "customer_id", "-created_at"])]

    def __str__(self) -> str:
        return self.conversation_id
