"""Zalo OA access tokens, renewed before they expire (the refresh-token flow).

    POST https://oauth.zaloapp.com/v4/oa/access_token
    header  secret_key: <the Zalo app's secret key>
    form    app_id=<app id>&refresh_token=<refresh token>&grant_type=refresh_token
    answer  {"access_token": "...", "refresh_token": "...", "expires_in": "90000"}
            or {"error": -14014, "error_name": "...", "error_description": "..."}

Each refresh token works once: the answer carries the next one. So a renewal holds the
connection row's lock from reading the refresh token to storing the new pair (a second worker
waits, then sees a fresh token and does nothing); the HTTP call is inside that lock on purpose.
A failure keeps the tokens there were (an access token may still have hours to run), records
the error for the admin's banner, and is tried again by the next scheduled run."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from notifications.channels import SendError
from notifications.channels.http import post_form
from notifications.conf import notifications_setting
from notifications.models import ZaloConnection
from notifications.zalo_tokens import TokenUnreadable, token_decrypt, token_encrypt

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class RenewalResult:
    renewed: bool
    error: str = ""
    expires_at: datetime.datetime | None = None


def zalo_tokens_set(*, refresh_token: str, access_token: str = "", expires_in: int | None = None, by=None):
    """Store the tokens a person obtained from Zalo (the OA's authorisation gives the first
    refresh token). Without an access token, the next renewal fetches one at once."""
    refresh_token = (refresh_token or "").strip()
    if not refresh_token:
        raise ValueError("a refresh token is needed")
    with transaction.atomic():
        connection, _created = ZaloConnection.objects.select_for_update().get_or_create(pk=ZaloConnection.SINGLETON_PK)
        connection.refresh_token_encrypted = token_encrypt(refresh_token)
        connection.access_token_encrypted = token_encrypt(access_token.strip())
        connection.access_expires_at = (
            timezone.now() + datetime.timedelta(seconds=expires_in) if access_token and expires_in else None
        )
        connection.failed_at, connection.failures, connection.last_error = None, 0, ""
        connection.updated_by = by
        connection.save()
    return connection


def _due(connection: ZaloConnection, now: datetime.datetime) -> bool:
    if not connection.access_token_encrypted or connection.access_expires_at is None:
        return True
    ahead = datetime.timedelta(seconds=notifications_setting("ZALO_RENEW_AHEAD_SECONDS"))
    return connection.access_expires_at - now <= ahead


def _exchange(refresh_token: str) -> tuple[str, str, int]:
    """Ask Zalo for a new pair; (access token, refresh token, seconds to expiry) or RuntimeError."""
    app_id, secret = notifications_setting("ZALO_APP_ID"), notifications_setting("ZALO_SECRET_KEY")
    if not app_id or not secret:
        raise RuntimeError("NOTIFICATIONS_ZALO_APP_ID and NOTIFICATIONS_ZALO_SECRET_KEY are not set")
    try:
        response = post_form(
            notifications_setting("ZALO_OAUTH_URL"),
            {"app_id": app_id, "refresh_token": refresh_token, "grant_type": "refresh_token"},
            headers={"secret_key": secret},
            timeout=TIMEOUT_SECONDS,
        )
    except SendError as exc:
        raise RuntimeError(str(exc)) from None
    data = response.data if isinstance(response.data, dict) else {}
    access, refresh = data.get("access_token"), data.get("refresh_token")
    try:
        expires_in = int(data.get("expires_in"))
    except (TypeError, ValueError):
        expires_in = 0
    if response.status != 200 or not isinstance(access, str) or not access or not isinstance(refresh, str):
        detail = data.get("error_description") or data.get("message") or response.text[:200]
        code = data.get("error", "")
        raise RuntimeError(f"HTTP {response.status}, Zalo error {code}: {detail}".strip())
    if expires_in <= 0:
        raise RuntimeError(f"Zalo gave no usable expires_in: {data.get('expires_in')!r}")
    return access, refresh or refresh_token, expires_in


def zalo_token_renew(*, force: bool = False) -> RenewalResult:
    """Renew the access token when it expires within NOTIFICATIONS_ZALO_RENEW_AHEAD_SECONDS (or
    at once with `force`). Nothing to do without a stored refresh token. Never raises for Zalo's
    answers: the error is recorded on the connection and returned."""
    with transaction.atomic():
        connection = ZaloConnection.objects.select_for_update().filter(pk=ZaloConnection.SINGLETON_PK).first()
        if connection is None or not connection.refresh_token_encrypted:
            return RenewalResult(renewed=False)
        now = timezone.now()
        if not force and not _due(connection, now):
            return RenewalResult(renewed=False, expires_at=connection.access_expires_at)
        try:
            access, refresh, expires_in = _exchange(token_decrypt(connection.refresh_token_encrypted))
        except (RuntimeError, TokenUnreadable) as exc:
            error = str(exc)[:500]
            connection.failed_at, connection.last_error = timezone.now(), error
            connection.failures += 1
            connection.save(update_fields=["failed_at", "last_error", "failures", "updated_at"])
            logger.warning("Zalo access token renewal failed (%d in a row): %s", connection.failures, error)
            return RenewalResult(renewed=False, error=error, expires_at=connection.access_expires_at)
        connection.access_token_encrypted = token_encrypt(access)
        connection.refresh_token_encrypted = token_encrypt(refresh)
        connection.access_expires_at = now + datetime.timedelta(seconds=expires_in)
        connection.renewed_at = now
        connection.failures, connection.last_error = 0, ""
        connection.save()
    return RenewalResult(renewed=True, expires_at=connection.access_expires_at)
