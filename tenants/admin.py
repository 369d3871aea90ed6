"""Admin for tenants. Stored secrets are never shown; an operator can only set new ones."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from tenants import services
from tenants.models import ApiKey, Conversation, Integration, Tenant

_RAW_KEY_ATTRIBUTE = "_gateway_new_api_key"
SECRET_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


# The services name secrets plainly; the admin form says "new_" because stored ones never show.
_FORM_FIELD_OF = {"client_secret": "new_client_secret", "events_secret": "new_events_secret"}


def _add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's field-keyed ValidationError next to the form's own fields."""
    for field, field_errors in error.message_dict.items():
        field = _FORM_FIELD_OF.get(field, field)
        if field in form.errors:
            continue  # the field's own check already said what is wrong
        form.add_error(field if field in form.fields else None, field_errors)


class TenantForm(forms.ModelForm):
    # Plain text: the tenants service decides what a valid base URL is.
    api_base_url = forms.CharField(required=False, help_text="Only for region 'custom'.")
    login_base_url = forms.CharField(required=False, help_text="Only for region 'custom'.")
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
        try:
            services.tenant_validate(
                is_new=self.instance.pk is None,
                slug=data.get("slug", ""),
                name=data.get("name", ""),
                region=data.get("region", ""),
                client_id=data.get("client_id", ""),
                api_base_url=data.get("api_base_url", ""),
                login_base_url=data.get("login_base_url", ""),
                client_secret=data.get("new_client_secret", ""),
                events_secret=data.get("new_events_secret", ""),
            )
        except ValidationError as exc:
            _add_service_errors(self, exc)
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
        if self.instance.pk is None or secret:
            services.webhook_secret_validate(secret=secret)
        return secret

    def save(self, commit: bool = True) -> Integration:
        integration: Integration = super().save(commit=False)
        secret = self.cleaned_data.get("new_secret", "")
        if not commit:
            if secret:  # the service stores a secret; it cannot be held back unsaved
                raise ValueError("an integration with a new secret is saved at once")
            return integration
        if integration.pk is not None:
            integration.save()  # a renamed integration keeps its row
            if not secret:
                return integration
        # Registering and rotating are the service's; the inline only collects the input.
        return services.integration_add(
            tenant=integration.tenant,
            integration_id=integration.integration_id,
            secret=secret,
            name=integration.name,
        )


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

    @admin.display(boolean=True, description="events secret set")
    def has_events_secret(self, obj: Tenant) -> bool:
        return bool(obj.events_secret_encrypted)

    def save_model(self, request: HttpRequest, obj: Tenant, form: forms.Form, change: bool) -> None:
        services.tenant_save(
            tenant=obj,
            client_secret=form.cleaned_data.get("new_client_secret", ""),
            events_secret=form.cleaned_data.get("new_events_secret", ""),
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
        # Kept on this request only: response_add renders it and nothing stores it.
        setattr(request, _RAW_KEY_ATTRIBUTE, raw_key)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the new key in this response itself, not in a message.

        Django's messages travel in a cookie or the session until the next page, which would
        keep the raw key stored outside the database; rendering it here keeps it in one
        response only.
        """
        raw_key = getattr(request, _RAW_KEY_ATTRIBUTE, "")
        if not raw_key:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": f"New API key for {obj.tenant.slug}",
            "opts": self.opts,
            "api_key": obj,
            "raw_key": raw_key,
        }
        return TemplateResponse(request, "admin/tenants/apikey/created.html", context)

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(api_key=api_key)
            count += 1
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
