"""MEDIA_STORAGE=s3 against moto's S3 server over real HTTP (no AWS account here)."""

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from django.test import Client
from django.utils import timezone
from moto.server import ThreadedMotoServer

from media.models import Media
from media.services import media_purge
from settings.media import media_s3_storage
from tests.media.conftest import PNG

PORT = 27050 + int(os.environ.get("GW_PORT_OFFSET", "0"))
BUCKET = "gateway-media"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{PORT}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, settings: Any) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "media": media_s3_storage(
            bucket=BUCKET,
            endpoint_url=s3_endpoint,
            region="us-east-1",
            prefix="gateway",
            addressing_style="path",
            access_key_id="test-key",
            secret_access_key="test-secret",
            presign_ttl_s=300,
        ),
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_an_upload_lands_in_the_bucket_under_the_tenant_prefix(
    upload: Callable[..., Any], bucket: Any
) -> None:
    response = upload(PNG, "image/png")
    assert response.status_code == 201, response.content
    media = Media.objects.get(id=response.json()["media_id"])

    key = f"gateway/{media.storage_name}"
    assert media.storage_name.startswith("acme/")
    assert bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read() == PNG


def test_the_signed_url_redirects_to_a_presigned_url_that_serves_the_bytes(
    client: Client, upload: Callable[..., Any], bucket: Any
) -> None:
    uploaded = upload(PNG, "image/png", HTTP_X_FILENAME="photo.png").json()
    link = urlsplit(uploaded["url"]).path

    redirect = client.get(link)
    assert redirect.status_code == 302
    assert redirect["Cache-Control"] == "no-store"
    target = redirect["Location"]
    assert "X-Amz-Signature=" in target and "X-Amz-Expires=300" in target

    fetched = requests.get(target, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == PNG
    assert fetched.headers["Content-Type"] == "image/png"
    assert fetched.headers["Content-Disposition"] == 'inline; filename="photo.png"'
    part = requests.get(target, headers={"Range": "bytes=0-7"}, timeout=10)
    assert part.status_code == 206
    assert part.content == PNG[:8]
    # Without the presigned query the object is private.
    assert requests.get(target.split("?")[0], timeout=10).status_code == 403

    head = client.head(link)
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(PNG))


def test_purge_deletes_the_object(upload: Callable[..., Any], bucket: Any) -> None:
    media_id = upload(PNG, "image/png").json()["media_id"]
    Media.objects.filter(id=media_id).update(created_at=timezone.now() - timedelta(days=40))

    assert media_purge(older_than=timedelta(days=30)) == 1
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_s3_storage_without_a_bucket_is_a_configuration_error() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="MEDIA_S3_BUCKET"):
        media_s3_storage(
            bucket="",
            endpoint_url="",
            region="",
            prefix="",
            addressing_style="",
            access_key_id="",
            secret_access_key="",
            presign_ttl_s=300,
        )
