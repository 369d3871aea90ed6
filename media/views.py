"""The signed download URL: `/media/<token>`, for anyone holding the link."""

from django.http import HttpRequest, HttpResponseBase

from genesys_gateway.problems import problem_response
from media.errors import MediaLinkInvalidError
from media.responses import media_file_response, media_not_found
from media.selectors import media_get_by_token


def media_download(request: HttpRequest, token: str) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        response = problem_response(
            status=405,
            title="Method not allowed",
            detail="Media links answer GET and HEAD.",
            slug="method-not-allowed",
        )
        response["Allow"] = "GET, HEAD"
        return response
    try:
        media, expires_at = media_get_by_token(token=token)
    except MediaLinkInvalidError:
        return media_not_found()
    return media_file_response(request=request, media=media, expires_at=expires_at)
