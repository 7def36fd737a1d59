"""Staff pages outside the admin site's own URLs: the one-time code step of the sign-in, and the
reports (summary.json, the export)."""

from django.urls import include, path

from backoffice.signin import otp_verify

urlpatterns = [
    path("sign-in/code/", otp_verify, name="staff-otp-verify"),
    path("", include("reports.urls")),
]
