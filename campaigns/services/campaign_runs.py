"""Running a campaign: serve every member of its audience once per period.

A run walks the member table in ranges of ids. For each range, in one transaction:
1. `INSERT INTO campaigns_campaigndelivery ... SELECT <the audience query> ON CONFLICT DO NOTHING
   RETURNING member_id` claims the members not yet served in this period (the unique
   constraint on campaign, member and period is the once-per-member rule; a concurrent run of
   the same campaign waits on the rows the other inserted and then skips them);
2. the claimed members get what the campaign gives: vouchers issued in bulk, bonus points
   through the ledger, messages written to the outbox in bulk;
3. the run's counters move with `F()`.
A member the voucher cannot go to (over the reward's per-member limit, stock exhausted) is
un-claimed and gets nothing in this run, so a later run may still serve them. Running again for
the same period claims nobody: nothing is given twice."""

from __future__ import annotations

import datetime
import functools
import logging
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Max, Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.errors import CampaignInactive
from campaigns.models import Campaign, CampaignDelivery, CampaignRun
from campaigns.selectors.groups import audience_members, audience_today, audience_zone
from campaigns.services.bulk import IssuedVoucher, messages_enqueue_bulk, vouchers_issue_bulk
from loyalty_site.core.errors import DomainError, ValidationFailed
from members.errors import MemberBlocked, MemberMerged
from members.models import LedgerEntry, Member
from members.services import points_earn
from notifications.models import Event
from notifications.services import message_enqueue
from vouchers.models import Voucher

logger = logging.getLogger("campaigns.runs")

# Member ids per transaction. Each range is one INSERT ... SELECT over that slice of the member
# table; a birthday campaign claims about a twelfth of it.
CHUNK_SPAN = 50_000


@dataclass
class _Served:
    members: int = 0
    skipped: int = 0
    vouchers: int = 0
    points: int = 0
    messages: int = 0


def campaign_reference(campaign: Campaign, period_key: str, member_id: int) -> str:
    """The idempotency reference of what a campaign gives a member in a period (the voucher and
    the ledger credit carry it)."""
    return f"campaign:{campaign.pk}:{period_key}:{member_id}"


def _deliveries_claim(
    *, campaign: Campaign, run: CampaignRun, period_key: str, audience: QuerySet[Member], now: datetime.datetime
) -> list[int]:
    """Insert a delivery for each member of `audience` not yet served in the period; returns the
    ids of the members claimed now. One statement, set-based."""
    quote = connection.ops.quote_name
    sub_sql, sub_params = audience.order_by().values(claimed_member_id=F("pk")).query.sql_with_params()
    table = quote(CampaignDelivery._meta.db_table)
    # Names are quoted by the backend and every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({quote('campaign_id')}, {quote('member_id')}, {quote('period_key')}, "  # noqa: S608
        f"{quote('run_id')}, {quote('delivered_at')}) "
        f"SELECT %s, audience.{quote('claimed_member_id')}, %s, %s, %s FROM ({sub_sql}) audience WHERE true "
        f"ON CONFLICT ({quote('campaign_id')}, {quote('member_id')}, {quote('period_key')}) DO NOTHING "
        f"RETURNING {quote('member_id')}"
    )
    params = [campaign.pk, period_key, run.pk, connection.ops.adapt_datetimefield_value(now), *sub_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


@functools.lru_cache(maxsize=64)
def _last_day_of(expires_at: datetime.datetime) -> datetime.date:
    return timezone.localtime(expires_at, audience_zone()).date() - datetime.timedelta(days=1)


def _last_day(voucher: IssuedVoucher) -> datetime.date:
    """The voucher's last valid day, as its message shows it (the same for a whole batch)."""
    return _last_day_of(voucher.expires_at)


def _serve(
    *,
    campaign: Campaign,
    run: CampaignRun,
    period_key: str,
    claimed: list[int],
    id_range: tuple[int, int],
    by,
    now: datetime.datetime,
) -> _Served:
    """Give the claimed members of one id range what the campaign gives. The members are
    named by a subquery on this run's delivery rows of the range (never a long list of ids), so
    a member un-claimed on the way drops out of every later step by itself."""
    served = _Served()
    deliveries = CampaignDelivery.objects.filter(
        campaign=campaign, period_key=period_key, run=run, member_id__gte=id_range[0], member_id__lt=id_range[1]
    )
    members = Member.objects.filter(pk__in=deliveries.values("member_id"))
    vouchers: dict[int, IssuedVoucher] = {}
    if campaign.reward_id:
        issued = vouchers_issue_bulk(
            reward=campaign.reward,
            members=members,
            reference_for=lambda member_id: campaign_reference(campaign, period_key, member_id),
            reason=_("Campaign %(code)s") % {"code": campaign.code},
            issued_by=by,
            now=now,
        )
        if issued.refused:
            # Not served after all: free the claim, so that a later run (more stock, a new period
            # of the reward's limit) may serve them.
            deliveries.filter(member_id__in=list(issued.refused)).delete()
            served.skipped += len(issued.refused)
            claimed = [m for m in claimed if m not in issued.refused]
        vouchers = issued.vouchers
        served.vouchers = issued.new
    if campaign.bonus_points:
        kept = []
        for member_id in claimed:
            try:
                entry = points_earn(
                    member=Member(pk=member_id),
                    points=campaign.bonus_points,
                    reference=campaign_reference(campaign, period_key, member_id),
                    kind=LedgerEntry.Kind.BONUS,
                    occurred_at=now,
                    cause_kind="campaign",
                    cause_reference=campaign.code,
                    reason=_("Campaign %(code)s") % {"code": campaign.code},
                    created_by=by,
                )
            except (MemberBlocked, MemberMerged):
                served.skipped += 1
                deliveries.filter(member_id=member_id).delete()
                continue
            served.points += entry.points
            kept.append(member_id)
        claimed = kept
    served.members = len(claimed)
    if not claimed:
        return served
    reward_name = campaign.reward.name if campaign.reward_id else ""

    def context(member_id: int) -> dict:
        values: dict = {"campaign_name": campaign.name}
        voucher = vouchers.get(member_id)
        if voucher is not None:
            values.update(voucher_code=voucher.code, voucher_name=reward_name, voucher_expires_at=_last_day(voucher))
        if campaign.bonus_points:
            values["points_earned"] = campaign.bonus_points
        return values

    if campaign.notification_event:
        messages = messages_enqueue_bulk(
            members=members,
            event=campaign.notification_event,
            context_for=context,
            dedupe_key_for=lambda _member_id: f"campaign:{campaign.pk}:{period_key}",
            marketing=campaign.notification_is_marketing,
            variant=campaign.code,
            now=now,
        )
        served.messages = messages.pending
    elif vouchers:
        # No campaign message: tell each member about the voucher, as issuing one always does
        # (with the dedupe key `vouchers.services` uses for it).
        voucher_ids = dict(
            Voucher.objects.filter(
                reward_id=campaign.reward_id,
                member_id__in=deliveries.values("member_id"),
                reference__startswith=f"campaign:{campaign.pk}:{period_key}:",
            ).values_list("member_id", "pk")
        )
        messages = messages_enqueue_bulk(
            members=members,
            event=Event.VOUCHER_ISSUED,
            context_for=context,
            dedupe_key_for=lambda member_id: f"voucher-issued:{voucher_ids[member_id]}",
            now=now,
        )
        served.messages = messages.pending
    return served


def campaign_check_runnable(*, campaign: Campaign, as_of: datetime.date) -> None:
    """Refuse (CampaignInactive, ValidationFailed) a run the campaign cannot make for `as_of`."""
    if not campaign.is_active:
        raise CampaignInactive(_("Campaign %(code)s is not active: activate it first.") % {"code": campaign.code})
    if as_of > audience_today():
        raise ValidationFailed(errors={"as_of": [_("A campaign cannot be run for a future day.")]})


def campaign_run(
    *,
    campaign: Campaign,
    as_of: datetime.date | None = None,
    trigger: str = CampaignRun.Trigger.MANUAL,
    by=None,
    chunk_span: int = CHUNK_SPAN,
) -> CampaignRun:
    """Run the campaign for the day `as_of` (default today, programme time zone) and return the
    run with its figures. Refused (nothing written) when the campaign is not active or the day
    is in the future. A failure part-way leaves the ranges already done committed and the run
    marked failed with the reason; running again finishes the job without serving anybody
    twice."""
    campaign = Campaign.objects.select_related("reward", "group", "segment").get(pk=campaign.pk)
    as_of = as_of or audience_today()
    campaign_check_runnable(campaign=campaign, as_of=as_of)
    period_key = campaign.period_key(as_of=as_of)
    now = timezone.now()
    run = CampaignRun.objects.create(
        campaign=campaign,
        as_of=as_of,
        period_key=period_key,
        trigger=trigger,
        started_by=by,
        started_at=now,
        status=CampaignRun.Status.RUNNING,
    )
    audience = audience_members(group=campaign.group, segment=campaign.segment, as_of=as_of)
    try:
        audience_count = audience.count()
        CampaignRun.objects.filter(pk=run.pk).update(audience_count=audience_count)
        bounds = Member.objects.aggregate(low=Min("pk"), high=Max("pk"))
        if bounds["low"] is not None:
            for low in range(bounds["low"], bounds["high"] + 1, chunk_span):
                with transaction.atomic():
                    claimed = _deliveries_claim(
                        campaign=campaign,
                        run=run,
                        period_key=period_key,
                        audience=audience.filter(pk__gte=low, pk__lt=low + chunk_span),
                        now=now,
                    )
                    if not claimed:
                        continue
                    served = _serve(
                        campaign=campaign,
                        run=run,
                        period_key=period_key,
                        claimed=claimed,
                        id_range=(low, low + chunk_span),
                        by=by,
                        now=now,
                    )
                    CampaignRun.objects.filter(pk=run.pk).update(
                        members_reached=F("members_reached") + served.members,
                        members_skipped=F("members_skipped") + served.skipped,
                        vouchers_issued=F("vouchers_issued") + served.vouchers,
                        points_given=F("points_given") + served.points,
                        messages_queued=F("messages_queued") + served.messages,
                    )
    except DomainError as exc:
        _finish(run, CampaignRun.Status.FAILED, note=str(exc.detail))
        logger.warning("campaign %s run %s failed: %s", campaign.code, run.pk, exc.detail)
    except Exception as exc:
        _finish(run, CampaignRun.Status.FAILED, note=f"{exc.__class__.__name__}: {exc}")
        raise
    else:
        _finish(run, CampaignRun.Status.DONE)
    run.refresh_from_db()
    already = run.audience_count - run.members_reached - run.members_skipped
    if already > 0 and run.status == CampaignRun.Status.DONE and not run.note:
        CampaignRun.objects.filter(pk=run.pk).update(
            note=_("%(count)d members had already been served in this period.") % {"count": already}
        )
        run.refresh_from_db()
    return run


def _finish(run: CampaignRun, status: str, note: str = "") -> None:
    CampaignRun.objects.filter(pk=run.pk).update(status=status, finished_at=timezone.now(), note=note[:2000])


# --- A test to one member -----------------------------------------------------------------------


def campaign_send_test(*, campaign: Campaign, member: Member, by=None) -> CampaignRun:
    """Send the campaign's message to one member (a staff member's own record), with sample
    voucher details: nothing of value is given and the member is not counted as served, so
    they still get the real thing when the campaign runs. Recorded as a run of kind test.
    Refused (nothing written) for a campaign that sends no message."""
    if not campaign.notification_event:
        raise ValidationFailed(
            _("This campaign sends no message: there is nothing to test."),
            errors={"notification_event": [_("This campaign sends no message: there is nothing to test.")]},
        )
    now = timezone.now()
    values: dict = {"campaign_name": campaign.name}
    if campaign.reward_id:
        values.update(
            voucher_code="TEST-0000",
            voucher_name=campaign.reward.name,
            voucher_expires_at=timezone.localtime(now, audience_zone()).date() + datetime.timedelta(days=30),
        )
    if campaign.bonus_points:
        values["points_earned"] = campaign.bonus_points
    with transaction.atomic():
        messages = message_enqueue(
            member=member,
            event=campaign.notification_event,
            context=values,
            marketing=False,  # a test goes to staff whatever their marketing consent
            dedupe_key=f"campaign-test:{campaign.pk}:{uuid.uuid4().hex}",
            variant=campaign.code,
        )
        pending = [m for m in messages if m.status != "skipped"]
        skipped = [m for m in messages if m.status == "skipped"]
        note = ""
        if skipped:
            note = "; ".join(f"{m.channel}: {m.get_skip_reason_display()}" for m in skipped)
        run = CampaignRun.objects.create(
            campaign=campaign,
            as_of=timezone.localtime(now, audience_zone()).date(),
            period_key="test",
            trigger=CampaignRun.Trigger.TEST,
            started_by=by,
            started_at=now,
            finished_at=timezone.now(),
            status=CampaignRun.Status.DONE,
            audience_count=1,
            members_reached=1,
            messages_queued=len(pending),
            note=(_("Test sent to %(member)s.") % {"member": member} + (" " + note if note else ""))[:2000],
        )
    return run
