"""Admin for tenants. Stored secrets are never shown; an operator can only set new ones."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tenants import services
from tenants.models import ApiKey, Conversation, Integration, Tenant

SECRET_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


class TenantForm(forms.ModelForm):
    api_base_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Only for region 'custom'."
    )
    login_base_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Only for region 'custom'."
    )
    new_client_secret = forms.CharField(
        required=False,
        widget=SECRET_WIDGET,
        help_text="Stored encrypted and never shown again. Leave empty to keep the current one.",
    )
    new_events_secret = forms.CharField(
        required=False,
        widget=SECRET_WIDGET,
        help_text="Secret for the events webhook. Leave empty to keep the current one.",
    )

    class Meta:
        model = Tenant
        fields = [
            "slug",
            "name",
            "region",
            "api_base_url",
            "login_base_url",
            "client_id",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.instance.pk and not data.get("new_client_secret"):
            self.add_error("new_client_secret", "A new tenant needs its client secret.")
        events_secret = data.get("new_events_secret")
        if events_secret and len(events_secret) < services.MIN_WEBHOOK_SECRET_LENGTH:
            self.add_error(
                "new_events_secret",
                f"At least {services.MIN_WEBHOOK_SECRET_LENGTH} characters.",
            )
        region = data.get("region")
        if region == "custom":
            for field in ("api_base_url", "login_base_url"):
                if not data.get(field):
                    self.add_error(field, "Required for region 'custom'.")
        return data


class IntegrationForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        widget=SECRET_WIDGET,
        help_text="Webhook signing secret (16+ characters). Setting a new one keeps the "
        "previous one valid until dropped.",
    )

    class Meta:
        model = Integration
        fields = ["integration_id", "name"]

    def clean_new_secret(self) -> str:
        secret: str = self.cleaned_data.get("new_secret", "")
        if not self.instance.pk and not secret:
            raise ValidationError("A new integration needs its secret.")
        if secret and len(secret) < services.MIN_WEBHOOK_SECRET_LENGTH:
            raise ValidationError(f"At least {services.MIN_WEBHOOK_SECRET_LENGTH} characters.")
        return secret

    def save(self, commit: bool = True) -> Integration:
        integration: Integration = super().save(commit=False)
        secret = self.cleaned_data.get("new_secret")
        if secret:
            integration.set_secret(secret, keep_previous=bool(integration.pk))
        if commit:
            integration.save()
        return integration


class IntegrationInline(admin.TabularInline):
    model = Integration
    form = IntegrationForm
    extra = 0
    fields = ["integration_id", "name", "new_secret", "rotation_in_progress"]
    readonly_fields = ["rotation_in_progress"]

    @admin.display(boolean=True, description="previous secret accepted")
    def rotation_in_progress(self, obj: Integration) -> bool:
        return bool(obj.previous_secret_encrypted)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    inlines = [IntegrationInline]
    list_display = ["slug", "name", "region", "is_active", "organization_id", "verified_at"]
    list_filter = ["is_active", "region"]
    search_fields = ["slug", "name", "organization_id", "client_id"]
    readonly_fields = ["organization_id", "verified_at", "has_events_secret", "created_at"]
    actions = ["verify_credentials"]

    @admin.display(boolean=True, description="events secret set")
    def has_events_secret(self, obj: Tenant) -> bool:
        return bool(obj.events_secret_encrypted)

    def save_model(self, request: HttpRequest, obj: Tenant, form: forms.Form, change: bool) -> None:
        if form.cleaned_data.get("new_client_secret"):
            obj.set_client_secret(form.cleaned_data["new_client_secret"])
        if form.cleaned_data.get("new_events_secret"):
            obj.set_events_secret(form.cleaned_data["new_events_secret"])
        super().save_model(request, obj, form, change)

    @admin.action(description="Verify credentials with Genesys")
    def verify_credentials(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        # outbound/ owns every Genesys call; verification is its one use from here.
        from outbound.services import TenantVerificationFailed, tenant_verify

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


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["tenant", "name"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["prefix", "tenant", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    search_fields = ["prefix", "name", "tenant__slug"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:  # type: ignore[override]  # a narrower return type is fine
        if obj is None:
            return ["tenant", "name"]
        return ["tenant", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["tenant", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.Form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        api_key, raw_key = services.api_key_create(tenant=obj.tenant, name=obj.name)
        obj.pk = api_key.pk
        obj.prefix, obj.key_hash, obj.created_at = (
            api_key.prefix,
            api_key.key_hash,
            api_key.created_at,
        )
        self.message_user(
            request,
            f"New API key for {obj.tenant.slug}, shown only now: {raw_key}",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} keys.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows written by traffic, not by people: viewable, never added, changed or deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    """The routing map and per-conversation state."""

    list_display = [
        "conversation_id",
        "tenant",
        "integration",
        "customer_id",
        "state",
        "last_event_type",
        "last_event_at",
    ]
    list_filter = ["state", "tenant"]
    search_fields = ["conversation_id", "customer_id"]
