"""Sign-in by phone and a one-time code, enrolment of a proved phone, and sign-out
(member-web.md). `/m/` is the sign-in form when signed out and the home page when signed in."""

from __future__ import annotations

from django import forms
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from loyalty_site.core.errors import DomainError, ValidationFailed
from members.errors import MemberExists
from members.models import ConsentChange, Member
from members.selectors import member_resolve
from members.services import member_enrol
from portal.auth import safe_next
from portal.services import (
    enrol_proof_make,
    enrol_proof_phone,
    sign_in_code_request,
    sign_in_code_verify,
)
from portal.services.signin import ENROL_PROOF_SECONDS
from portal.sessions import COOKIE_PATH, session_end, session_member, session_start
from portal.views.common import client_ip, private, render_page
from portal.views.home import home_page

ENROL_COOKIE = "m_enrol"


class PhoneForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("Phone number"), max_length=30)


class CodeForm(forms.Form):
    phone = forms.CharField(max_length=30, widget=forms.HiddenInput)
    code = forms.CharField(label=gettext_lazy("Code"), max_length=12)


class EnrolForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=200)
    birthday = forms.DateField(
        label=gettext_lazy("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    referral_code = forms.CharField(label=gettext_lazy("Referral code (optional)"), max_length=20, required=False)
    consent_sms = forms.BooleanField(label=gettext_lazy("SMS"), required=False)
    consent_email = forms.BooleanField(label=gettext_lazy("Email"), required=False)
    consent_zalo = forms.BooleanField(label=gettext_lazy("Zalo"), required=False)
    consent_push = forms.BooleanField(label=gettext_lazy("Push notifications"), required=False)


def _signed_in(request, member: Member):
    response = HttpResponseRedirect(safe_next(request, reverse("portal:home")))
    session_start(request=request, response=response, member=member)
    response.delete_cookie(ENROL_COOKIE, path=COOKIE_PATH)
    return response


def _code_step(request, phone: str, form: CodeForm | None = None, status: int = 200):
    form = form or CodeForm(initial={"phone": phone})
    return render_page(
        request, "portal/signin_code.html", {"form": form, "phone": phone, "next": safe_next(request)}, status=status
    )


@require_http_methods(["GET", "POST"])
def index(request):
    """/m/: home when signed in; else the phone form, then the code form."""
    signed_in = session_member(request)
    if signed_in is not None:
        request.member = signed_in.member
        request.member_session = signed_in.session
        return home_page(request)
    if request.method == "GET":
        return render_page(request, "portal/signin.html", {"form": PhoneForm(), "next": safe_next(request)})
    if "code" in request.POST:
        return _verify(request)
    form = PhoneForm(request.POST)
    if form.is_valid():
        try:
            phone = sign_in_code_request(
                phone=form.cleaned_data["phone"], language=get_language() or "", ip=client_ip(request)
            )
        except ValidationFailed as exc:
            for message in exc.errors.get("phone", [str(exc.detail)]):
                form.add_error("phone", message)
        except DomainError as exc:
            form.add_error(None, str(exc.detail))
            response = render_page(
                request, "portal/signin.html", {"form": form, "next": safe_next(request)}, status=exc.status
            )
            for header, value in exc.headers.items():
                response[header] = value
            return response
        else:
            return _code_step(request, phone)
    return render_page(request, "portal/signin.html", {"form": form, "next": safe_next(request)}, status=400)


def _verify(request):
    form = CodeForm(request.POST)
    phone = request.POST.get("phone", "")[:30]
    if not form.is_valid():
        return _code_step(request, phone, form, status=400)
    try:
        proof = sign_in_code_verify(phone=form.cleaned_data["phone"], code=form.cleaned_data["code"])
    except ValidationFailed:
        return HttpResponseRedirect(reverse("portal:home"))
    except DomainError as exc:
        form.add_error("code", str(exc.detail))
        return _code_step(request, phone, form, status=exc.status)
    if proof.member is None:
        response = HttpResponseRedirect(_enrol_url(request))
        response.set_cookie(
            ENROL_COOKIE,
            enrol_proof_make(phone=proof.phone),
            max_age=ENROL_PROOF_SECONDS,
            path=COOKIE_PATH,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
        return private(response)
    if proof.member.status != Member.Status.ACTIVE:
        form.add_error(None, _("This membership cannot be used on the member pages. Please ask at a store."))
        return _code_step(request, phone, form, status=403)
    return _signed_in(request, proof.member)


def _enrol_url(request) -> str:
    target = safe_next(request)
    return reverse("portal:enrol") + (f"?next={target}" if target else "")


@require_http_methods(["GET", "POST"])
def enrol(request):
    """Enrolment of a phone proved by a code (the signed cookie): name, birthday, referral code
    and consent per channel, each unticked."""
    phone = enrol_proof_phone(request.COOKIES.get(ENROL_COOKIE))
    if phone is None:
        return private(HttpResponseRedirect(reverse("portal:home")))
    form = EnrolForm(request.POST or None)
    context = {"form": form, "phone": phone, "next": safe_next(request)}
    if request.method == "GET":
        return render_page(request, "portal/enrol.html", context)
    if not form.is_valid():
        return render_page(request, "portal/enrol.html", context, status=400)
    data = form.cleaned_data
    try:
        member = member_enrol(
            name=data["name"],
            phone=phone,
            channel=Member.Channel.WEB,
            birthday=data["birthday"],
            referral_code=data["referral_code"],
            consents={channel: bool(data[f"consent_{channel}"]) for channel in Member.CONSENT_CHANNELS},
            consent_source=ConsentChange.Source.MEMBER_WEB,
        )
    except MemberExists:
        # Enrolled meanwhile (another tab, the till): the phone is proved, so that member signs in.
        member = member_resolve(Member.objects.get(phone=phone))
        if member.status != Member.Status.ACTIVE:
            return private(HttpResponseRedirect(reverse("portal:home")))
    except ValidationFailed as exc:
        for field_name, messages in exc.errors.items():
            for message in messages:
                form.add_error(field_name if field_name in form.fields else None, message)
        return render_page(request, "portal/enrol.html", context, status=400)
    return _signed_in(request, member)


@require_POST
def sign_out(request):
    response = HttpResponseRedirect(reverse("portal:home"))
    session_end(request=request, response=response)
    return private(response)
