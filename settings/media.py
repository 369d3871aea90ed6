"""The `media` entry of STORAGES for S3-compatible object storage (django-storages)."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured


def media_s3_storage(
    *,
    bucket: str,
    endpoint_url: str,
    region: str,
    prefix: str,
    addressing_style: str,
    access_key_id: str,
    secret_access_key: str,
    presign_ttl_s: int,
) -> dict[str, Any]:
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET.")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": prefix,
        # Objects stay private: they are reached through presigned URLs only.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": presign_ttl_s,
        # botocore presigns with the legacy v2 scheme otherwise, which newer regions and
        # most S3-compatible servers refuse.
        "signature_version": "s3v4",
        # Names carry a fresh UUID; skipping the existence check saves a request.
        "file_overwrite": True,
    }
    optional = {
        "endpoint_url": endpoint_url,
        "region_name": region,
        "addressing_style": addressing_style,
        "access_key": access_key_id,
        "secret_key": secret_access_key,
    }
    options.update({name: value for name, value in optional.items() if value})
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
