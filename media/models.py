import uuid

from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class Media(models.Model):
    """A file a tenant uploaded; its bytes live in the media storage under `storage_name`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="media")
    mime = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    filename = models.CharField(max_length=255, blank=True)
    storage_name = models.CharField(max_length=500, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "media"
        indexes = [models.Index(fields=["tenant", "-created_at"], name="media_tenant_created")]

    def __str__(self) -> str:
        return f"{self.id} ({self.mime}, {self.tenant_id})"
