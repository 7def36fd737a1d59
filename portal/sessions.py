"""Member sign-in sessions on a device: a random token in the `m_session` cookie (HttpOnly,
SameSite=Lax, Secure outside DEBUG), its SHA-256 in `MemberSession`. Valid 30 days from sign-in
(`PORTAL_SESSION_DAYS`); signing out ends it at once. Separate from the staff's Django session:
a member is never a staff user, and a staff session's 12 hours do not apply here."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from members.models import Member
from portal.models import MemberSession

COOKIE_NAME = "m_session"
COOKIE_PATH = "/m/"
# last_seen_at is written at most this often, so browsing costs no write per page.
SEEN_EVERY = datetime.timedelta(minutes=10)


def session_days() -> int:
    return int(getattr(settings, "PORTAL_SESSION_DAYS", 30))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    member: Member
    session: MemberSession


def session_start(*, request: HttpRequest, response: HttpResponse, member: Member) -> MemberSession:
    """Sign `member` in on this device: a new session row and its cookie on `response`."""
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    session = MemberSession.objects.create(
        member=member,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + datetime.timedelta(days=session_days()),
        last_seen_at=now,
        user_agent=request.headers.get("User-Agent", "")[:300],
    )
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=session_days() * 86400,
        path=COOKIE_PATH,
        secure=not settings.DEBUG and request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return session


def session_member(request: HttpRequest) -> SignedIn | None:
    """The member signed in on this device, or None (no cookie, unknown, expired or ended
    session, or a member who is no longer active: blocked or merged)."""
    token = request.COOKIES.get(COOKIE_NAME)
    if not token or len(token) > 100:
        return None
    now = timezone.now()
    session = (
        MemberSession.objects.select_related("member")
        .filter(token_hash=token_hash(token), ended_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if session is None or session.member.status != Member.Status.ACTIVE:
        return None
    if now - session.last_seen_at > SEEN_EVERY:
        MemberSession.objects.filter(pk=session.pk).update(last_seen_at=now)
    return SignedIn(member=session.member, session=session)


def session_end(*, request: HttpRequest, response: HttpResponse) -> None:
    """Sign out on this device: the session ends now and the cookie goes."""
    token = request.COOKIES.get(COOKIE_NAME)
    if token:
        with transaction.atomic():
            MemberSession.objects.filter(token_hash=token_hash(token), ended_at__isnull=True).update(
                ended_at=timezone.now()
            )
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Lax")
