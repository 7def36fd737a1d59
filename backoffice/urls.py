"""Staff pages outside the admin site's own URLs: the one-time code step of the sign-in."""

from django.urls import path

from backoffice.signin import otp_verify

urlpatterns = [
    path("sign-in/code/", otp_verify, name="staff-otp-verify"),
]
