"""The admin's banner when renewing the Zalo access token failed: on every admin page, for the
people who can fix it (superusers and Programme leads: `notifications.change_zaloconnection`).
Costs one query on admin pages for those users only; nothing elsewhere."""

from __future__ import annotations

from notifications.selectors import zalo_renewal_alert


def zalo_alert(request) -> dict[str, str]:
    if not request.path.startswith("/admin/"):
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return {}
    if not user.has_perm("notifications.change_zaloconnection"):
        return {}
    return {"zalo_token_alert": zalo_renewal_alert()}
