from django.urls import path  # noqa: F401 -- endpoints arrive with the issues that build them

app_name = "pos"

urlpatterns: list = []
