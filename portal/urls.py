"""The member pages under /m/ (member-web.md, "Fixed for tests and integrations")."""

from django.urls import path

from portal.views import push, unsubscribe

app_name = "portal"

urlpatterns: list = [
    # path("", views.home, name="home") and the other pages arrive with issue 14's views.
    path("unsubscribe/<str:token>", unsubscribe.unsubscribe, name="unsubscribe"),
    path("push/subscribe/", push.subscribe, name="push_subscribe"),
    path("push/unsubscribe/", push.unsubscribe, name="push_unsubscribe"),
    path("sw.js", push.service_worker, name="service_worker"),
]
