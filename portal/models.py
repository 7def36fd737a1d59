"""The member pages' own records. Written by `portal.sessions` (and the portal's services)
only."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Member


class MemberSession(models.Model):
    """A member signed in on one device (member-web.md: 30 days). The browser holds a random
    token in a cookie; only its SHA-256 is stored, so reading this table signs no one in."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="web_sessions", verbose_name=_("member"))
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("signed in at"), editable=False)
    expires_at = models.DateTimeField(_("expires at"), editable=False)
    last_seen_at = models.DateTimeField(_("last seen at"), editable=False)
    ended_at = models.DateTimeField(_("signed out at"), null=True, blank=True, editable=False)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = _("member sign-in")
        verbose_name_plural = _("member sign-ins")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["member", "-created_at"], name="portal_session_member_recent")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class SignInCode(models.Model):
    """A 6-digit code sent to a phone to sign in to the member pages (member-web.md): valid 5
    minutes, single use, void after 5 wrong tries. Only a salted HMAC of the code is kept
    (`members.presence.code_hash`), so reading this table signs no one in. `member` is blank for a
    phone that was no member's when the code was asked for (its owner may then enrol)."""

    phone = models.CharField(_("phone number"), max_length=16, editable=False)
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sign_in_codes",
        verbose_name=_("member"),
        editable=False,
    )
    salt = models.CharField(_("salt"), max_length=32, editable=False)
    code_hash = models.CharField(_("code hash"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("sent at"), editable=False)
    expires_at = models.DateTimeField(_("expires at"), editable=False)
    wrong_tries = models.PositiveSmallIntegerField(_("wrong tries"), default=0, editable=False)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("member sign-in code")
        verbose_name_plural = _("member sign-in codes")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["phone", "-created_at"], name="portal_signincode_phone_recent")]

    def __str__(self) -> str:
        return f"{self.phone} @ {self.created_at:%Y-%m-%d %H:%M}"
