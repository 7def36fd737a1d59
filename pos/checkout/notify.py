"""Messages about a recorded sale, enqueued after the sale committed (architecture.md: "commit ->
after commit: enqueue notifications"), so the till's request never waits for the outbox."""

from django.db import transaction

from members.models import Member
from notifications.models import Event
from notifications.services import message_enqueue
from pos.models import Sale
from tiers.models import Tier


def sale_points_notify(*, sale_id: int) -> int:
    """Enqueue the points-earned message of a sale; returns how many messages were written.
    Idempotent: the outbox keeps one message per sale (dedupe key) and channel."""
    sale = Sale.objects.select_related("store", "member").filter(pk=sale_id).first()
    if sale is None or sale.member_id is None or not sale.points_earned:
        return 0
    if sale.member.status != Member.Status.ACTIVE:
        return 0
    tier = Tier.objects.filter(code=sale.tier_after_code).first()
    with transaction.atomic():
        messages = message_enqueue(
            member=sale.member,
            event=Event.POINTS_EARNED,
            context={
                "points_earned": sale.points_earned,
                "points_balance": sale.member.points_balance,
                "store_name": sale.store.name,
                "tier_name": tier.display_name if tier else "",
            },
            dedupe_key=sale.reference,
        )
    return len(messages)
