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
