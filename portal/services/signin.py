"""Signing in to the member pages by phone and a one-time code (member-web.md).

Rules: a 6-digit code, valid 5 minutes, single use; at most 3 codes a phone per 10 minutes and
10 per 24 hours (rolling), refused with nothing sent beyond; 5 wrong tries void the code (a
wrong try counts against every valid code of the phone, as `members.services.presence` does);
at most `IP_CODES_PER_HOUR` codes asked for from one address an hour (the shared cache, which
fails open: with Redis down only the per-phone limits hold). Enumeration-safe: whether the phone
is a member's or not, the request is answered the same and a code is sent (a member's by their
channels, anyone else's by SMS); only the person who reads the code learns which.

The counts of one phone are serialised: a PostgreSQL advisory lock on the phone for the
request's transaction (SQLite serialises writers itself). A code is used by one guarded UPDATE,
so two submits of the same code at once sign in once.

After a code is accepted for a phone that is no member's, `enrol_proof_make` gives a signed,
30-minute proof of that phone for the enrolment form (`enrol_proof_phone` reads it back)."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError, ValidationFailed
from members.models import Member
from members.phones import phone_normalise
from members.presence import (
    CODE_MAX_WRONG_TRIES,
    CODE_VALID,
    CODES_PER_WINDOW,
    CODES_WINDOW,
    code_generate,
    code_hash,
    code_matches,
    salt_generate,
)
from members.selectors import member_resolve
from notifications.services import sign_in_code_send
from portal.models import SignInCode

CODES_PER_DAY = 10
DAY = datetime.timedelta(hours=24)
IP_CODES_PER_HOUR = 30
ENROL_PROOF_SECONDS = 30 * 60
_ENROL_SALT = "portal.enrol-proof"


class SignInThrottled(DomainError):
    code = "throttled"
    status = 429


class SignInRefused(DomainError):
    code = "sign-in-refused"
    status = 400


@dataclass(frozen=True)
class SignInProof:
    """A code accepted for `phone`: its member (None when the phone is no member's)."""

    phone: str
    member: Member | None


def _phone_or_refuse(phone: str) -> str:
    try:
        return phone_normalise(phone)
    except ValidationError as exc:
        raise ValidationFailed(errors={"phone": list(exc.messages)}) from None


def _phone_lock(phone: str) -> None:
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"portal-sign-in:{phone}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _ip_allowed(ip: str) -> bool:
    """One more code asked for from `ip` this hour, if under the limit. Fails open."""
    if not ip:
        return True
    key = f"portal:sign-in-ip:{ip}"
    cache.add(key, 0, 3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired just now, or the cache is down: fail open
        cache.add(key, 1, 3600)
        count = 1
    return count <= IP_CODES_PER_HOUR


def _throttled(minutes: int) -> SignInThrottled:
    return SignInThrottled(
        _("Too many codes were asked for this phone. Please try again in %(minutes)d minutes.") % {"minutes": minutes},
        headers={"Retry-After": str(minutes * 60)},
    )


def _member_of(phone: str) -> Member | None:
    member = Member.objects.select_related("home_store").filter(phone=phone).first()
    return member_resolve(member) if member is not None else None


def sign_in_code_request(*, phone: str, language: str = "", ip: str = "", at: datetime.datetime | None = None) -> str:
    """Send a sign-in code to `phone` (any Vietnamese form); returns the phone in E.164.
    Refusals write and send nothing: ValidationFailed (not a phone number), SignInThrottled
    (the limits above), notifications' SignInCodeNotSent (no template)."""
    at = at or timezone.now()
    phone = _phone_or_refuse(phone)
    if not _ip_allowed(ip):
        raise _throttled(60)
    with transaction.atomic():
        _phone_lock(phone)
        recent = list(
            SignInCode.objects.filter(phone=phone, created_at__gt=at - DAY)
            .order_by("created_at")
            .values_list("created_at", flat=True)
        )
        in_window = [created for created in recent if created > at - CODES_WINDOW]
        if len(recent) >= CODES_PER_DAY:
            free_at = recent[-CODES_PER_DAY] + DAY
            raise _throttled(max(1, int((free_at - at).total_seconds() // 60) + 1))
        if len(in_window) >= CODES_PER_WINDOW:
            free_at = in_window[-CODES_PER_WINDOW] + CODES_WINDOW
            raise _throttled(max(1, int((free_at - at).total_seconds() // 60) + 1))
        member = _member_of(phone)
        code, salt = code_generate(), salt_generate()
        SignInCode.objects.create(
            phone=phone,
            member=member,
            salt=salt,
            code_hash=code_hash(code=code, salt=salt),
            created_at=at,
            expires_at=at + CODE_VALID,
        )
        sign_in_code_send(phone=phone, member=member, code=code, language=language, at=at)
    return phone


def sign_in_code_verify(*, phone: str, code: str, at: datetime.datetime | None = None) -> SignInProof:
    """Use the code sent to `phone`: the proof of the phone and its member (None when the phone
    is no member's; a merged member's survivor). SignInRefused when no valid code matches (a
    wrong code counts a wrong try, which is kept) or the code was used meanwhile."""
    at = at or timezone.now()
    phone = _phone_or_refuse(phone)
    code = "".join(str(code or "").split())
    active = list(
        SignInCode.objects.filter(
            phone=phone, used_at__isnull=True, expires_at__gt=at, wrong_tries__lt=CODE_MAX_WRONG_TRIES
        ).order_by("-created_at", "-pk")
    )
    if not active:
        raise SignInRefused(_("This code has expired or was already used: ask for a new one."))
    matched = next((row for row in active if code_matches(code=code, salt=row.salt, hashed=row.code_hash)), None)
    if matched is None:
        SignInCode.objects.filter(pk__in=[row.pk for row in active], used_at__isnull=True).update(
            wrong_tries=F("wrong_tries") + 1
        )
        raise SignInRefused(_("The code is wrong. Check the message and try again."))
    used = SignInCode.objects.filter(
        pk=matched.pk, used_at__isnull=True, expires_at__gt=at, wrong_tries__lt=CODE_MAX_WRONG_TRIES
    ).update(used_at=at)
    if not used:
        raise SignInRefused(_("This code has expired or was already used: ask for a new one."))
    return SignInProof(phone=phone, member=_member_of(phone))


def enrol_proof_make(*, phone: str) -> str:
    """A signed proof, for 30 minutes, that the bearer read a code sent to `phone`."""
    return signing.dumps({"phone": phone}, salt=_ENROL_SALT, compress=False)


def enrol_proof_phone(proof: str | None) -> str | None:
    """The phone an enrolment proof names, while it is valid; else None."""
    if not proof or len(proof) > 500:
        return None
    try:
        return signing.loads(proof, salt=_ENROL_SALT, max_age=ENROL_PROOF_SECONDS).get("phone")
    except (signing.BadSignature, AttributeError):
        return None
