from django.urls import path

from benchmarks.bare import views

urlpatterns = [
    path("healthz", views.healthz),
    path("insert", views.insert),
    path("parse", views.parse),
    path("forward", views.forward),
]
