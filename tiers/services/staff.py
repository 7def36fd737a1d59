"""Setting a member's tier by hand."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from tiers.models import Tier, TierChange
from tiers.selectors import local_today
from tiers.services.common import (
    apply,
    change_record,
    cycle_values,
    notify_tier_changed,
    now,
    save_status,
    snapshot,
    status_lock,
)


def tier_set(
    *,
    member: Member,
    tier: Tier,
    reason: str,
    staff_user,
    floor_until: datetime.date | None = None,
) -> TierChange:
    """Put the member in `tier` by hand, with a required reason, recorded in the history with
    the staff user. With `floor_until`, the tier is also guaranteed through that day: the
    daily evaluation and refunds cannot take the member below it until then (spend can still
    take the member higher). Without it, any earlier guarantee ends. The retention cycle of
    the new tier starts now; the qualifying spend is left as it is.

    Refusals write nothing: no reason, no staff user, a guarantee ending in the past, or
    nothing to change."""
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give a reason for setting the tier by hand.")]
    if staff_user is None or not getattr(staff_user, "pk", None):
        errors["staff_user"] = [_("A staff user must be named.")]
    if not isinstance(tier, Tier) or tier.pk is None:
        errors["tier"] = [_("Choose a tier.")]
    if floor_until is not None and floor_until < local_today():
        errors["floor_until"] = [_("The guarantee cannot end in the past.")]
    if errors:
        raise ValidationFailed(errors=errors)
    moment = now()
    with transaction.atomic():
        status = status_lock(member)
        before = status.tier
        state_before = snapshot(status)
        same_floor = (status.floor_tier_id, status.floor_until) == (
            (tier.pk, floor_until) if floor_until else (None, None)
        )
        if before.pk == tier.pk and same_floor:
            raise ValidationFailed(
                errors={"tier": [_("The member is already in %(tier)s.") % {"tier": tier.display_name}]}
            )
        fields = ["floor_tier", "floor_until"]
        if before.pk != tier.pk:
            status.tier = tier
            status.since = moment
            apply(status, cycle_values(tier, moment))
            fields += ["tier", "since", "cycle_started_at", "retention_deadline", "cycle_spend"]
        status.floor_tier = tier if floor_until else None
        status.floor_until = floor_until
        save_status(status, fields)
        note = reason
        if floor_until:
            note = _("%(reason)s (guaranteed through %(day)s)") % {"reason": reason, "day": floor_until.isoformat()}
        change = change_record(
            member_id=member.pk,
            from_tier=before,
            to_tier=tier,
            kind=TierChange.Kind.STAFF,
            note=note,
            staff_user=staff_user,
            at=moment,
            state_before=state_before,
        )
        if before.pk != tier.pk:
            notify_tier_changed(
                member=Member.objects.select_related("home_store").get(pk=member.pk),
                tier=tier,
                dedupe_key=f"tier-change:{change.pk}",
            )
    return change
