from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from genesys_gateway import health, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("outbound.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("media/", include("media.urls")),
]

handler400 = "genesys_gateway.problems.handler400"
handler403 = "genesys_gateway.problems.handler403"
handler404 = "genesys_gateway.problems.handler404"
handler500 = "genesys_gateway.problems.handler500"
