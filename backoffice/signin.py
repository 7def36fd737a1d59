"""Staff sign-in (risk.md "Staff sign-in"): repeated wrong passwords lock the account and the
address for a while (django-axes, configured in settings "Staff sign-in"), Programme leads and
superusers pass a one-time code (TOTP, django-otp) before they may use the admin, and sessions
end after 12 hours (SESSION_COOKIE_AGE).

Why a middleware and not django-otp's OTPAdminSite: that site asks every staff member for a code,
and only the two most powerful kinds of account need one. The middleware sends such a user, once
signed in with the password, to the code page (`otp_verify`) before any other admin page."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.roles import PROGRAMME_LEAD

# --- Who needs a one-time code


def otp_required_for(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Superusers and Programme leads (staff accounts that can change the programme itself)."""
    if not settings.STAFF_OTP_REQUIRED or not user.is_authenticated or not user.is_staff:
        return False
    return user.is_superuser or user.groups.filter(name=PROGRAMME_LEAD).exists()


def totp_device_enrol(*, user: AbstractBaseUser, replace: bool = False) -> TOTPDevice:
    """Give `user` a new authenticator key, confirmed at once (the person scans it from the
    enrolling command's output). ValueError if the user has one and `replace` is false; with
    `replace`, the old devices stop working in the same transaction."""
    with transaction.atomic():
        existing = TOTPDevice.objects.filter(user=user)
        if existing.exists() and not replace:
            raise ValueError("the user already has an authenticator")
        existing.delete()
        return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=True)


# --- The code page


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code from the authenticator app"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse("admin:index")


@never_cache
@csrf_protect
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Ask a signed-in Programme lead or superuser for the code of their authenticator app."""
    user = request.user
    if not user.is_authenticated or not user.is_staff:
        return redirect(f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
    next_url = _next_url(request)
    if not otp_required_for(user) or user.is_verified():
        return redirect(next_url)
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        form.add_error("token", _("The code is wrong or has expired. Wait for the next code and try again."))
    context = {
        **admin.site.each_context(request),
        "title": _("One-time code"),
        "form": form,
        "next": next_url,
        "has_device": user_has_device(user),
        "username": user.get_username(),
    }
    return render(request, "admin/otp_verify.html", context)


class StaffOtpMiddleware:
    """Sends a Programme lead or superuser who has not yet given a code to `otp_verify`, from
    every admin page but the sign-in, sign-out and the code page itself. After django-otp's
    OTPMiddleware, which tells whether the session has been verified."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._needs_code(request):
            return redirect(f"{reverse('staff-otp-verify')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _needs_code(request: HttpRequest) -> bool:
        path = request.path_info
        try:
            admin_root = reverse("admin:index")
            open_pages = {reverse("admin:login"), reverse("admin:logout"), reverse("staff-otp-verify")}
        except NoReverseMatch:  # a URL configuration without the admin (a test's, a future API-only one)
            return False
        if not path.startswith(admin_root) or path in open_pages:
            return False
        user = request.user
        return otp_required_for(user) and not user.is_verified()


# --- Lockout (django-axes hooks)


def client_ip(request: HttpRequest) -> str | None:
    """The address a lockout is counted against. Behind TRUSTED_PROXY_COUNT reverse proxies, the
    address the nearest proxy saw (the last entries of X-Forwarded-For are the proxies' own, the
    ones before can be forged by the client); without proxies, the connection's address. Counting
    the proxy's own address would lock every member of staff out at once."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The page shown instead of the admin sign-in while the account or the address is locked."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        **admin.site.each_context(request),
        "title": _("Sign-in locked"),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
    }
    return render(request, "admin/locked_out.html", context, status=429)
