"""Staff pages outside the admin site's own URLs: the one-time code step of the sign-in, the
admin's home page (the dashboard, matched here before the admin's own index) and the reports
(summary.json, the export)."""

from django.contrib import admin
from django.urls import include, path

from backoffice.dashboard import admin_home
from backoffice.signin import otp_verify

urlpatterns = [
    path("", admin.site.admin_view(admin_home), name="admin-home"),
    path("sign-in/code/", otp_verify, name="staff-otp-verify"),
    path("", include("reports.urls")),
]
