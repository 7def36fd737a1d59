"""Every write of paid membership: plans, selling and renewing, cancelling, and the daily job
(expiry, renewal reminders, the monthly voucher). The API, the admin, the CLI and the scheduler
all call these.

Rules (docs/paid-membership.md):
- selling locks the member's row, so two sales for one member run one after the other: with no
  period running the new one starts now, else it starts where the member's last period ends
  (a renewal extends, never overlaps); a plan that is not `renewable` is refused while a period
  runs. One call, one period: the POS idempotency key makes a retry replay, not buy again;
- cancelling: within the plan's refund window (days after the sale) the period is cancelled and
  its fee refunded in full; after it, refused (the period runs to its end, no pro-rata refund);
- the daily job, for a programme day D, does nothing twice when run again: periods ended by the
  end of D are marked expired (and the member told, once, unless a renewal follows on); periods
  ending within the plan's reminder days get one renewal reminder; every paid member with a
  monthly reward gets one voucher for D's month (a unique row per member and month)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError, clean_or_refuse
from members.errors import MemberBlocked, MemberMerged
from members.models import Member
from members.selectors import programme_zone
from members.services import members_lock
from memberships.errors import MembershipActive, MembershipNotCancellable, MembershipNotFound, PlanNotFound
from memberships.models import MembershipVoucher, PaidMembership, PaidPlan
from memberships.selectors import covering, day_start, months_after, not_cancelled, plans_cache_invalidate
from notifications.models import Event
from notifications.services import message_enqueue
from stores.models import Store, Terminal
from vouchers.models import Voucher
from vouchers.services import voucher_issue

logger = logging.getLogger(__name__)
Status = PaidMembership.Status


# --- Plans ------------------------------------------------------------------------------------


def plan_save(*, plan: PaidPlan, brands=None) -> PaidPlan:
    """Create or change a plan (and its brands when given); the checkout's cache follows."""
    clean_or_refuse(plan)
    with transaction.atomic():
        plan.save()
        if brands is not None:
            plan.brands.set(brands)
        plans_cache_invalidate()
    return plan


# --- Selling ----------------------------------------------------------------------------------


def plan_for_sale(*, code: str, store: Store | None) -> PaidPlan:
    """The plan on sale under `code` at `store`'s brand (any brand for staff without a store)."""
    plan = PaidPlan.objects.filter(code=(code or "").strip().upper(), is_active=True).first()
    if plan is None or (store is not None and not _sold_at(plan, store)):
        raise PlanNotFound(_("No paid membership plan %(code)s is on sale here.") % {"code": code})
    return plan


def _sold_at(plan: PaidPlan, store: Store) -> bool:
    brand_ids = set(plan.brands.values_list("pk", flat=True))
    return not brand_ids or store.brand_id in brand_ids


def _require_active(member: Member) -> None:
    if member.status == Member.Status.MERGED:
        raise MemberMerged(_("Member %(code)s was merged into another member; use that one.") % {"code": member.code})
    if member.status == Member.Status.BLOCKED:
        raise MemberBlocked(_("Member %(code)s is blocked.") % {"code": member.code})


def membership_sell(
    *,
    member: Member,
    plan: PaidPlan,
    store: Store | None = None,
    terminal: Terminal | None = None,
    sold_by=None,
    reference: str | None = None,
    now: datetime.datetime | None = None,
) -> PaidMembership:
    """Sell one period of `plan` to `member` (a renewal when a period is running: it starts at
    the end of the member's last period). Refuses a blocked or merged member, and a plan that is
    not renewable while a period runs (MembershipActive). With a `reference` (the admin form's
    token), selling again under it returns the period already sold (a double submit)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = members_lock(member_ids=[member.pk])[member.pk]
        if reference:
            existing = PaidMembership.objects.filter(reference=reference, member_id=locked.pk).first()
            if existing is not None:
                return existing
        _require_active(locked)
        last = (
            PaidMembership.objects.filter(not_cancelled(), member_id=locked.pk, ends_at__gt=now)
            .order_by("-ends_at")
            .first()
        )
        if last is not None and not plan.renewable:
            raise MembershipActive(
                _("The paid membership runs until %(date)s; this plan cannot be renewed before it ends.")
                % {"date": timezone.localtime(last.ends_at, programme_zone()).date().strftime("%d/%m/%Y")}
            )
        starts = last.ends_at if last is not None else now
        membership = PaidMembership(
            member=locked,
            plan=plan,
            started_at=starts,
            ends_at=months_after(starts, plan.period_months),
            status=Status.ACTIVE,
            fee_paid=plan.fee,
            sold_at=now,
            sold_store=store or (terminal.store if terminal else None),
            sold_terminal=terminal,
            sold_by=sold_by,
            reference=reference or None,
        )
        clean_or_refuse(membership)
        membership.save()
    return membership


# --- Cancelling -------------------------------------------------------------------------------


def membership_refund_deadline(membership: PaidMembership) -> datetime.datetime:
    return membership.sold_at + datetime.timedelta(days=membership.plan.refund_window_days)


def membership_cancel(
    *,
    member: Member,
    membership_id: int,
    cancelled_by=None,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> PaidMembership:
    """Cancel one period of `member` within its refund window: refunded in full, its benefits
    stop now. Not the member's, already cancelled or ended: MembershipNotFound; past the
    window: MembershipNotCancellable."""
    now = now or timezone.now()
    with transaction.atomic():
        members_lock(member_ids=[member.pk])
        membership = (
            PaidMembership.objects.select_for_update(no_key=True)
            .select_related("plan")
            .filter(pk=membership_id, member_id=member.pk)
            .first()
        )
        if membership is None or membership.status == Status.CANCELLED or membership.ends_at <= now:
            raise MembershipNotFound(
                _("Member %(code)s has no such paid membership to cancel.") % {"code": member.code}
            )
        deadline = membership_refund_deadline(membership)
        if now > deadline:
            raise MembershipNotCancellable(
                _("The refund window ended on %(date)s: the membership runs to its end, nothing is refunded.")
                % {"date": timezone.localtime(deadline, programme_zone()).strftime("%d/%m/%Y %H:%M")},
                extra={"refund_deadline": deadline.isoformat()},
            )
        membership.status = Status.CANCELLED
        membership.cancelled_at = now
        membership.cancelled_by = cancelled_by
        membership.cancel_reason = " ".join(str(reason or "").split())[:300]
        membership.refund_amount = membership.fee_paid
        clean_or_refuse(membership)
        membership.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "refund_amount", "updated_at"]
        )
    return membership


# --- The daily job ----------------------------------------------------------------------------


def _cutoff(as_of: datetime.date | None) -> tuple[datetime.date, datetime.datetime]:
    """The programme day and the instant the job looks at: the end of that day, never later than
    now (a day still running is seen as it is)."""
    now = timezone.now()
    day = as_of or timezone.localtime(now, programme_zone()).date()
    return day, min(now, day_start(day + datetime.timedelta(days=1)))


def _renewed(membership: PaidMembership) -> bool:
    return (
        PaidMembership.objects.filter(not_cancelled(), member_id=membership.member_id, ends_at__gt=membership.ends_at)
        .filter(started_at__lte=membership.ends_at)
        .exists()
    )


def _local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment, programme_zone()).date()


def memberships_expire(*, as_of: datetime.date | None = None) -> int:
    """Mark the periods ended by the end of `as_of` expired; tell each member whose membership
    ends (no renewal follows on), once. Returns how many periods expired now."""
    _day, cutoff = _cutoff(as_of)
    expired = 0
    due = PaidMembership.objects.select_related("plan", "member").filter(status=Status.ACTIVE, ends_at__lte=cutoff)
    for membership in due.order_by("pk").iterator(chunk_size=500):
        with transaction.atomic():
            renewed = _renewed(membership)
            changed = PaidMembership.objects.filter(pk=membership.pk, status=Status.ACTIVE).update(
                status=Status.EXPIRED, expiry_notified=not renewed, updated_at=timezone.now()
            )
            if not changed:
                continue
            expired += 1
            if not renewed:
                message_enqueue(
                    member=membership.member,
                    event=Event.MEMBERSHIP_EXPIRED,
                    context={
                        "membership_name": membership.plan.display_name,
                        "membership_ends_at": _local_date(membership.ends_at),
                    },
                    dedupe_key=f"membership-expired:{membership.pk}",
                )
    return expired


def memberships_remind(*, as_of: datetime.date | None = None) -> int:
    """One renewal reminder per period ending within its plan's reminder days after `as_of`,
    unless a renewal follows on. Returns how many were sent now."""
    day, cutoff = _cutoff(as_of)
    sent = 0
    for plan in PaidPlan.objects.order_by("pk"):
        horizon = day_start(day + datetime.timedelta(days=plan.reminder_days + 1))
        due = PaidMembership.objects.select_related("member").filter(
            plan=plan, status=Status.ACTIVE, reminder_sent_on__isnull=True, ends_at__gt=cutoff, ends_at__lte=horizon
        )
        for membership in due.order_by("pk").iterator(chunk_size=500):
            if _renewed(membership):
                continue
            with transaction.atomic():
                changed = PaidMembership.objects.filter(pk=membership.pk, reminder_sent_on__isnull=True).update(
                    reminder_sent_on=day, updated_at=timezone.now()
                )
                if not changed:
                    continue
                sent += 1
                message_enqueue(
                    member=membership.member,
                    event=Event.MEMBERSHIP_RENEWAL,
                    context={
                        "membership_name": plan.display_name,
                        "membership_ends_at": _local_date(membership.ends_at),
                    },
                    dedupe_key=f"membership-renewal:{membership.pk}",
                )
    return sent


@dataclass(frozen=True)
class MonthlyVouchers:
    issued: int
    refused: int


def membership_vouchers_issue(*, as_of: datetime.date | None = None) -> MonthlyVouchers:
    """Give every member who is a paid member on `as_of` (with a plan that has a monthly
    reward) that month's voucher, once per member and month whatever runs again."""
    day, cutoff = _cutoff(as_of)
    at = min(cutoff, timezone.now())
    month = day.replace(day=1)
    granted = MembershipVoucher.objects.filter(member_id=OuterRef("member_id"), month=month)
    due = (
        PaidMembership.objects.select_related("plan__monthly_reward", "member")
        .filter(covering(at), plan__monthly_reward__isnull=False)
        .exclude(Exists(granted))
        .order_by("member_id", "started_at", "pk")
    )
    issued = refused = 0
    seen: set[int] = set()
    for membership in due.iterator(chunk_size=500):
        if membership.member_id in seen:
            continue
        seen.add(membership.member_id)
        try:
            if _monthly_voucher(membership, month=month):
                issued += 1
        except DomainError as exc:  # out of stock, over the reward's limit, a blocked member
            refused += 1
            logger.warning("membership voucher for member %s refused: %s", membership.member_id, exc)
    return MonthlyVouchers(issued=issued, refused=refused)


def _monthly_voucher(membership: PaidMembership, *, month: datetime.date) -> bool:
    plan = membership.plan
    with transaction.atomic():
        voucher: Voucher = voucher_issue(
            reward=plan.monthly_reward,
            member=membership.member,
            channel=Voucher.Channel.CAMPAIGN,
            reason=_("Paid membership %(plan)s, %(month)s") % {"plan": plan.code, "month": month.strftime("%m/%Y")},
            reference=f"membership:{membership.member_id}:{month:%Y-%m}",
        )
        try:
            with transaction.atomic():
                MembershipVoucher.objects.create(
                    member_id=membership.member_id, membership=membership, month=month, voucher=voucher
                )
        except IntegrityError:  # another run got there first: it recorded the same voucher
            return False
    return True


@dataclass(frozen=True)
class DailyRun:
    expired: int
    reminded: int
    vouchers: MonthlyVouchers


def memberships_daily(*, as_of: datetime.date | None = None) -> DailyRun:
    """The scheduled job: expiry, reminders, the monthly voucher. Safe to run again."""
    return DailyRun(
        expired=memberships_expire(as_of=as_of),
        reminded=memberships_remind(as_of=as_of),
        vouchers=membership_vouchers_issue(as_of=as_of),
    )
