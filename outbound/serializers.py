"""Serializer pieces shared by several views (each view nests its own Input/Output).

Every API answer goes through an output serializer, and the same serializers describe
the answers in the OpenAPI schema, so a body cannot say what the schema does not.
"""

import re
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from rest_framework import serializers

from outbound.services.attachments import attachment_mime_problem
from outbound.services.times import genesys_time

# WhatsApp caps a text message body at 4096 characters; Genesys would reject more anyway.
TEXT_MAX_LENGTH = 4096
ID_MAX_LENGTH = 255
NAME_MAX_LENGTH = 255
URL_MAX_LENGTH = 2048
ATTACHMENTS_MAX = 10
METADATA_MAX_ENTRIES = 50
METADATA_VALUE_MAX_LENGTH = 1024

_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


# DRF deep-copies every declared field (and rebuilds nested serializers) for each new
# serializer instance: the largest part of validating a request body (docs/benchmarks.md).
# Fields keep no per-request state while they validate or represent, so one bound set can
# serve every instance, in every thread. They are bound to a prototype instance without
# data or context, so this is only for serializers whose fields, defaults and validators
# read neither `self.context` nor `partial`, and that never change their fields per
# instance. (A comment, not a docstring: the schema would show a docstring.)
class SharedFieldsSerializer(serializers.Serializer):
    _shared_fields: ClassVar[Any]
    _shared_fields_lock: ClassVar[threading.RLock] = threading.RLock()

    @property  # a class-wide value instead of DRF's cached_property
    def fields(self) -> Any:
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")  # this class's own, not a parent's
        if shared is None:
            with cls._shared_fields_lock:
                shared = cls.__dict__.get("_shared_fields")
                if shared is None:
                    prototype = cls()
                    shared = super(SharedFieldsSerializer, prototype).fields
                    cls._shared_fields = shared
        return shared


class StrictSerializer(SharedFieldsSerializer):
    """Unknown fields are rejected with a 400 (a misspelt field is never silently lost)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class JsonNamedSerializer(serializers.Serializer):
    """For fields whose JSON name cannot be a class attribute (`from` is a Python keyword,
    `errors` a Serializer attribute): declare them under another name and map it here."""

    json_names: ClassVar[dict[str, str]] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for declared, json_name in self.json_names.items():
            fields[json_name] = fields.pop(declared)
        return fields


class CaseInsensitiveChoiceField(serializers.ChoiceField):
    """A choice accepted in any letter case and normalised to the documented spelling."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            for choice in self.choices:
                if str(choice).lower() == data.lower():
                    return choice
        return super().to_internal_value(data)


class GenesysDateTimeOutputField(serializers.DateTimeField):
    """A time written as Genesys writes it: UTC, milliseconds, a Z."""

    def to_representation(self, value: datetime | None) -> str | None:  # type: ignore[override]
        return None if value is None else genesys_time(value)


class CustomerSerializer(StrictSerializer):
    id = serializers.CharField(max_length=ID_MAX_LENGTH)
    id_type = CaseInsensitiveChoiceField(
        choices=["Phone", "Email", "Opaque"], required=False, default="Phone"
    )
    nickname = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False)
    first_name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False)
    last_name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False)

    class Meta:
        ref_name = "Customer"


class CustomerIdSerializer(StrictSerializer):
    id = serializers.CharField(max_length=ID_MAX_LENGTH)
    id_type = CaseInsensitiveChoiceField(
        choices=["Phone", "Email", "Opaque"], required=False, default="Phone"
    )

    class Meta:
        ref_name = "CustomerId"


class AttachmentSerializer(StrictSerializer):
    """A file by `url` (fetched by Genesys as is) or by `media_id` (an upload to POST media,
    sent with a signed gateway URL, its sha256, type and name); exactly one of the two."""

    url = serializers.URLField(
        max_length=URL_MAX_LENGTH,
        required=False,
        help_text="A public http(s) URL Genesys can fetch without credentials.",
    )
    media_id = serializers.UUIDField(
        required=False, help_text="The `media_id` of a file uploaded with POST media."
    )
    media_type = CaseInsensitiveChoiceField(choices=["Image", "Video", "Audio", "File"])
    mime = serializers.CharField(
        max_length=255,
        required=False,
        help_text="Required with `url`; with `media_id` the upload's type, which it must equal.",
    )
    filename = serializers.CharField(
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text="With `media_id`, default the upload's X-Filename.",
    )

    class Meta:
        ref_name = "Attachment"

    def validate_url(self, value: str) -> str:
        # Genesys fetches the media itself, so only web URLs make sense (no ftp, no data:).
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Must be an http or https URL.")
        return value

    def validate_mime(self, value: str) -> str:
        value = value.strip().lower()
        if not _MIME.match(value):
            raise serializers.ValidationError("Must be a MIME type like image/jpeg.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("url" in attrs) == ("media_id" in attrs):
            raise serializers.ValidationError({"url": ["Give exactly one of url and media_id."]})
        if "url" in attrs and "mime" not in attrs:
            raise serializers.ValidationError({"mime": ["Required with url."]})
        if "mime" in attrs:
            problem = attachment_mime_problem(media_type=attrs["media_type"], mime=attrs["mime"])
            if problem:
                raise serializers.ValidationError({"mime": [problem]})
        return attrs


class ProblemSerializer(JsonNamedSerializer):
    """RFC 9457 problem details, as every error is answered."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    field_errors = serializers.DictField(required=False, help_text="Field name -> messages.")
    genesys_status = serializers.IntegerField(required=False)
    genesys_code = serializers.CharField(required=False)
    genesys_context_id = serializers.CharField(
        required=False, help_text="Genesys' correlation id, for their support."
    )

    json_names = {"field_errors": "errors"}

    class Meta:
        ref_name = "Problem"
