from django.urls import URLPattern, path

from media.views import media_download

urlpatterns: list[URLPattern] = [
    path("<str:token>", media_download, name="media-download"),
]
