from datetime import timedelta

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.timesince import timesince

from media.models import Media
from tenants.admin import ReadOnlyAdmin


@admin.register(Media)
class MediaAdmin(ReadOnlyAdmin):
    """What tenants uploaded: type, size and age. The bytes are never shown here."""

    list_display = ["id", "tenant", "mime", "size_display", "filename", "age", "created_at"]
    list_filter = ["tenant", "mime"]
    search_fields = ["=id", "sha256", "filename"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "id",
        "tenant",
        "mime",
        "size",
        "sha256",
        "filename",
        "storage_name",
        "created_at",
    )
    list_select_related = ["tenant"]

    @admin.display(description="size", ordering="size")
    def size_display(self, obj: Media) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: Media) -> str:
        if timezone.now() - obj.created_at < timedelta(minutes=1):
            return "just now"
        return timesince(obj.created_at)
