"""Media uploads: the raw body goes to the media app's storage, streamed."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from genesys_gateway.problems import PROBLEM_CONTENT_TYPE
from media.http import media_upload_stream
from media.services import media_store, media_url_sign
from outbound.serializers import ProblemSerializer
from outbound.views.base import TenantApi, problems

_MEDIA_PROBLEMS = {
    (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="Empty body."),
    (413, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="Larger than MEDIA_MAX_BYTES."
    ),
    (415, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer,
        description="A type outside MEDIA_ALLOWED_TYPES, or bytes not of the declared type.",
    ),
}


class MediaCreateApi(TenantApi):
    """Store a file for later messages: its media_id and a signed URL to it.

    The declared type must be allowed and match the bytes; see docs/media.md.
    """

    # The body is streamed to storage by the service; no DRF parser may read it first.
    parser_classes = []

    class OutputSerializer(serializers.Serializer):
        media_id = serializers.UUIDField()
        mime = serializers.CharField()
        size = serializers.IntegerField()
        sha256 = serializers.CharField()
        url = serializers.URLField(help_text="Signed; anyone holding it can fetch the file.")
        expires_at = serializers.DateTimeField()

        class Meta:
            ref_name = "MediaCreateOutput"

    @extend_schema(
        operation_id="media_create",
        summary="Upload a file (raw body; Content-Type is its MIME type)",
        request={"*/*": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "X-Filename",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="File name shown to agents (percent-encoded UTF-8 allowed).",
            )
        ],
        responses={
            201: OpenApiResponse(OutputSerializer, description="Stored."),
            **problems(401, 404),
            **_MEDIA_PROBLEMS,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        stream, length = media_upload_stream(request._request)
        media = media_store(
            tenant=self.tenant,
            stream=stream,
            content_type=request.META.get("CONTENT_TYPE", ""),
            content_length=length,
            filename=request.headers.get("X-Filename", ""),
        )
        signed = media_url_sign(media=media)
        body = {
            "media_id": media.id,
            "mime": media.mime,
            "size": media.size,
            "sha256": media.sha256,
            "url": signed.url,
            "expires_at": signed.expires_at,
        }
        return Response(self.OutputSerializer(body).data, status=201)
