"""Admin for the Genesys side: read-only client state, and the tenant "verify" action.

Verification calls Genesys, which only outbound/ does, so the action is added here to the
tenant admin that tenants/ defines: tenants/ stays free of any traffic code.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from outbound.genesys.ratelimit import rate_limit_level, rate_limit_rate_per_s
from outbound.models import (
    GenesysRateLimit,
    GenesysToken,
    InboundMessage,
    InboundReceipt,
    OutboundDelivery,
)
from outbound.services.delivery_state import deliveries_retry
from outbound.services.verification import TenantVerificationFailed, tenant_verify
from tenants import admin as tenants_admin
from tenants.admin import ReadOnlyAdmin
from tenants.models import Tenant

# Importing tenants.admin above registered its TenantAdmin; replace it with one that can verify.
admin.site.unregister(Tenant)


@admin.register(Tenant)
class TenantAdmin(tenants_admin.TenantAdmin):
    actions = ["verify_credentials"]  # the base admin has none of its own

    @admin.action(description="Verify credentials with Genesys", permissions=["change"])
    def verify_credentials(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            try:
                tenant_verify(tenant=tenant)
            except TenantVerificationFailed as exc:
                self.message_user(request, f"{tenant.slug}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{tenant.slug}: verified, organization {tenant.organization_id}",
                    messages.SUCCESS,
                )


@admin.register(GenesysRateLimit)
class GenesysRateLimitAdmin(ReadOnlyAdmin):
    list_display = (
        "tenant",
        "level_now",
        "capacity",
        "per_minute",
        "updated_at",
        "delayed_count",
        "rejected_count",
    )
    readonly_fields = list_display

    @admin.display(description="tokens now (negative: calls waiting)")
    def level_now(self, obj: GenesysRateLimit) -> str:
        return f"{rate_limit_level(row=obj):.1f}"

    @admin.display(description="burst")
    def capacity(self, obj: GenesysRateLimit) -> int:
        return int(settings.GENESYS_RATE_LIMIT_BURST)

    @admin.display(description="sustained rate / min")
    def per_minute(self, obj: GenesysRateLimit) -> str:
        return f"{rate_limit_rate_per_s() * 60:.0f}"


@admin.register(GenesysToken)
class GenesysTokenAdmin(ReadOnlyAdmin):
    """Expiry and fetch counts only; the token itself is never shown."""

    list_display = ("tenant", "expires_at", "fetched_at", "fetch_count")
    fields = readonly_fields = list_display


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "message_id",
        "tenant",
        "state",
        "genesys_message_id",
        "conversation_id",
        "created_at",
        "sent_at",
    ]
    list_filter = ["state", "tenant"]
    search_fields = ["message_id", "genesys_message_id", "conversation_id"]


@admin.register(InboundReceipt)
class InboundReceiptAdmin(ReadOnlyAdmin):
    list_display = ["message_id", "status", "tenant", "state", "created_at", "sent_at"]
    list_filter = ["state", "status", "tenant"]
    search_fields = ["message_id"]


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(ReadOnlyAdmin):
    """Asynchronous deliveries: what is queued, what failed and why; failed ones can be retried.

    The payload holds customer content, so it is shown only on the detail page.
    """

    list_display = [
        "id",
        "tenant",
        "kind",
        "key",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status",
        "created_at",
        "finished_at",
    ]
    list_filter = ["state", "kind", "tenant"]
    search_fields = ["key", "customer_key", "genesys_message_id", "conversation_id"]
    actions = ["retry"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Rows stay read-only (every field is); "change" is the permission for retrying.
        return obj is None and super(ReadOnlyAdmin, self).has_change_permission(request)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in OutboundDelivery._meta.fields]

    @admin.action(description="Retry failed deliveries", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboundDelivery]) -> None:
        count = deliveries_retry(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} failed deliveries queued again.", messages.SUCCESS)
