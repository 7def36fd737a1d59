"""Running a campaign: serve every member of its audience once per period.

A run walks the member table in ranges of ids. For each range, in one transaction:
1. `INSERT INTO campaigns_campaigndelivery ... SELECT <the audience query> ON CONFLICT DO NOTHING
   RETURNING member_id` claims the members not yet served in this period (the unique
   constraint on campaign, member and period is the once-per-member rule; a concurrent run of
   the same campaign waits on the rows the other inserted and then skips them);
2. the claimed members get what the campaign gives: vouchers drawn, messages written to the
   outbox with them, then the reward locked, its stock and limits checked and the vouchers
   inserted (the lock is taken last, so that it is held briefly), then bonus points through the
   ledger;
3. after the commit, the run's counters move with `F()`.
A member the voucher cannot go to (over the reward's per-member limit, stock exhausted) is
un-claimed, and the message written for them withdrawn before the commit: they get nothing in
this run, and a later run may still serve them. Running again for the same period claims
nobody: nothing is given twice. On PostgreSQL two ranges are processed side by side, each on its
own connection (one builds its rows while the other's are written)."""

from __future__ import annotations

import datetime
import functools
import logging
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Max, Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.audiences.selectors import audience_today, audience_zone
from campaigns.errors import CampaignInactive
from campaigns.runs.claims import claim_link
from campaigns.runs.journeys import campaign_audience
from campaigns.runs.models import Campaign, CampaignDelivery, CampaignRun
from loyalty_site.core.errors import DomainError, ValidationFailed
from members.errors import MemberBlocked, MemberMerged
from members.models import LedgerEntry, Member
from members.services import points_earn
from notifications.models import Event
from notifications.services import message_enqueue, messages_enqueue_bulk, messages_withdraw
from vouchers.models import Voucher
from vouchers.services import IssuedVoucher, vouchers_issue_planned, vouchers_plan_bulk

logger = logging.getLogger("campaigns.runs")

# Member ids per transaction. Each range is one INSERT ... SELECT over that slice of the member
# table; a birthday campaign claims about a twelfth of it.
CHUNK_SPAN = 50_000
# Ranges processed side by side on PostgreSQL: one fills its rows while another writes.
RUN_WORKERS = 2


@dataclass
class _Served:
    members: int = 0
    skipped: int = 0
    vouchers: int = 0
    points: int = 0
    messages: int = 0
    held_out: int = 0


def campaign_reference(campaign: Campaign, period_key: str, member_id: int) -> str:
    """The idempotency reference of what a campaign gives a member in a period (the voucher and
    the ledger credit carry it)."""
    return f"{campaign_reference_prefix(campaign)}{period_key}:{member_id}"


def campaign_reference_prefix(campaign: Campaign) -> str:
    """The start of every reference a campaign gives (its vouchers, its ledger credits)."""
    return f"campaign:{campaign.pk}:"


# The holdout draw: a member's bucket is two rounds of an affine map modulo a prime, with
# coefficients drawn from a generator seeded by the run's id. Integer arithmetic that SQLite and
# PostgreSQL compute alike (every product stays below 2**62), so the draw is part of the claiming
# INSERT ... SELECT (no statement more, no row read back) and the same on both databases.
_HOLDOUT_PRIME = 2_147_483_647  # 2**31 - 1
HOLDOUT_BUCKETS = 10_000


def holdout_coefficients(run_id: int) -> tuple[int, int, int, int]:
    draw = random.Random(f"campaign-run-holdout:{run_id}")  # noqa: S311 -- a fair split, not a secret
    return tuple(draw.randrange(1, _HOLDOUT_PRIME) for _i in range(4))  # type: ignore[return-value]


def holdout_bucket(member_id: int, run_id: int) -> int:
    """The member's bucket (0 to HOLDOUT_BUCKETS - 1) in the run's draw, as the SQL computes it."""
    a1, b1, a2, b2 = holdout_coefficients(run_id)
    return ((a2 * ((a1 * member_id + b1) % _HOLDOUT_PRIME) + b2) % _HOLDOUT_PRIME) % HOLDOUT_BUCKETS


def _holdout_sql(column: str, *, run_id: int, percent: int) -> tuple[str, list[int]]:
    """SQL deciding whether the member in `column` is held out, and its parameters."""
    if percent <= 0:
        return "%s", [False]
    a1, b1, a2, b2 = holdout_coefficients(run_id)
    p = _HOLDOUT_PRIME
    # `%%`: the modulo operator, escaped for the parameter style.
    sql = f"((%s * ((%s * {column} + %s) %% {p}) + %s) %% {p}) %% {HOLDOUT_BUCKETS} < %s"
    return sql, [a2, a1, b1, b2, percent * HOLDOUT_BUCKETS // 100]


def _deliveries_claim(
    *, campaign: Campaign, run: CampaignRun, period_key: str, audience: QuerySet[Member], now: datetime.datetime
) -> tuple[list[int], int]:
    """Insert a delivery for each member of `audience` not yet served in the period, drawing
    the campaign's holdout among them; returns the ids of the members claimed now to be served
    (held-out members excluded) and how many were held out. One statement, set-based."""
    quote = connection.ops.quote_name
    sub_sql, sub_params = audience.order_by().values(claimed_member_id=F("pk")).query.sql_with_params()
    table = quote(CampaignDelivery._meta.db_table)
    member = f"audience.{quote('claimed_member_id')}"
    holdout_sql, holdout_params = _holdout_sql(member, run_id=run.pk, percent=campaign.holdout_percent)
    # Names are quoted by the backend and every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({quote('campaign_id')}, {quote('member_id')}, {quote('period_key')}, "  # noqa: S608
        f"{quote('run_id')}, {quote('delivered_at')}, {quote('holdout')}) "
        f"SELECT %s, {member}, %s, %s, %s, {holdout_sql} FROM ({sub_sql}) audience WHERE true "
        f"ON CONFLICT ({quote('campaign_id')}, {quote('member_id')}, {quote('period_key')}) DO NOTHING "
        f"RETURNING {quote('member_id')}, {quote('holdout')}"
    )
    params = [campaign.pk, period_key, run.pk, connection.ops.adapt_datetimefield_value(now), *holdout_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *sub_params])
        rows = cursor.fetchall()
    held_out = sum(1 for _member_id, holdout in rows if holdout)
    return sorted(member_id for member_id, holdout in rows if not holdout), held_out


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
    a member un-claimed on the way drops out of every later step by itself.

    Order: vouchers are drawn (codes, expiry) without a lock, the messages are written with
    them, and only then is the reward's row locked to check its stock and limits and insert the
    vouchers; the lock is held to the commit, so it is taken last and briefly (two ranges of a
    run proceed side by side). A member the voucher cannot go to is un-claimed and the message
    written for them is withdrawn before the commit, so it is never sent."""
    served = _Served()
    deliveries = CampaignDelivery.objects.filter(
        campaign=campaign,
        period_key=period_key,
        run=run,
        holdout=False,  # the holdout is recorded and given nothing
        member_id__gte=id_range[0],
        member_id__lt=id_range[1],
    )
    members = Member.objects.filter(pk__in=deliveries.values("member_id"))
    served_ids = list(claimed)

    def unclaim(refused: dict[int, str]) -> None:
        nonlocal served_ids
        if refused:
            deliveries.filter(member_id__in=list(refused)).delete()
            served.skipped += len(refused)
            served_ids = [m for m in served_ids if m not in refused]

    plan = None
    by_link = campaign.voucher_delivery == Campaign.VoucherDelivery.CLAIM_LINK
    if campaign.reward_id and not by_link:
        plan = vouchers_plan_bulk(
            reward=campaign.reward,
            members=members,
            reference_for=lambda member_id: campaign_reference(campaign, period_key, member_id),
            reason=_("Campaign %(code)s") % {"code": campaign.code},
            issued_by=by,
            now=now,
        )
        unclaim(plan.refused)
    vouchers = plan.vouchers if plan is not None else {}
    reward_name = campaign.reward.name if campaign.reward_id else ""
    dedupe_key = f"campaign:{campaign.pk}:{period_key}"

    def context(member_id: int, _language: str) -> dict:
        values: dict = {"campaign_name": campaign.name}
        voucher = vouchers.get(member_id)
        if voucher is not None:
            values.update(voucher_code=voucher.code, voucher_name=reward_name, voucher_expires_at=_last_day(voucher))
        if by_link:  # the voucher is issued when the member opens the link (`campaign_claim`)
            values.update(voucher_name=reward_name, claim_link=claim_link(campaign_id=campaign.pk, member_id=member_id))
        if campaign.bonus_points:
            values["points_earned"] = campaign.bonus_points
        return values

    if campaign.notification_event and served_ids:
        messages = messages_enqueue_bulk(
            members=members,
            event=campaign.notification_event,
            context_for=context,
            dedupe_key=dedupe_key,
            marketing=campaign.notification_is_marketing,
            variant=campaign.code,
            now=now,
        )
        served.messages = messages.pending
    if plan is not None:
        issued = vouchers_issue_planned(plan=plan)
        late = {m: reason for m, reason in issued.refused.items() if m not in plan.refused}
        if late and campaign.notification_event:
            served.messages -= messages_withdraw(
                member_ids=list(late), event=campaign.notification_event, dedupe_key=dedupe_key, now=now
            )
        unclaim(late)
        served.vouchers = issued.new
        if not campaign.notification_event and issued.new:
            # No campaign message: tell each member about the voucher, as issuing one always does
            # (with the dedupe key `vouchers.services` uses for it).
            voucher_ids = dict(
                Voucher.objects.filter(
                    reward_id=campaign.reward_id,
                    member_id__in=deliveries.values("member_id"),
                    reference__startswith=f"{campaign_reference_prefix(campaign)}{period_key}:",
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
    if campaign.bonus_points:
        for member_id in list(served_ids):
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
                # Blocked since the claim: the rest of the campaign still stands for them.
                continue
            served.points += entry.points
    served.members = len(served_ids)
    return served


def campaign_check_runnable(*, campaign: Campaign, as_of: datetime.date) -> None:
    """Refuse (CampaignInactive, ValidationFailed) a run the campaign cannot make for `as_of`."""
    if not campaign.is_active:
        raise CampaignInactive(_("Campaign %(code)s is not active: activate it first.") % {"code": campaign.code})
    if as_of > audience_today():
        raise ValidationFailed(errors={"as_of": [_("A campaign cannot be run for a future day.")]})


def _id_ranges(chunk_span: int) -> list[tuple[int, int]]:
    bounds = Member.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    return [(low, low + chunk_span) for low in range(bounds["low"], bounds["high"] + 1, chunk_span)]


def _range_run(*, campaign, run, period_key, audience, id_range, by, now) -> _Served:
    """One id range in one transaction: claim, serve, commit; then add to the run's figures (in
    a transaction of its own, so that ranges running side by side do not queue on the run's
    row)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Foreign keys checked as each row is written rather than all at the commit: the
            # commit, made while the reward's row is locked, then takes no time.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        claimed, held_out = _deliveries_claim(
            campaign=campaign,
            run=run,
            period_key=period_key,
            audience=audience.filter(pk__gte=id_range[0], pk__lt=id_range[1]),
            now=now,
        )
        if not claimed and not held_out:
            return _Served()
        served = _Served()
        if claimed:
            served = _serve(
                campaign=campaign, run=run, period_key=period_key, claimed=claimed, id_range=id_range, by=by, now=now
            )
        served.held_out = held_out
    CampaignRun.objects.filter(pk=run.pk).update(
        members_reached=F("members_reached") + served.members,
        members_skipped=F("members_skipped") + served.skipped,
        vouchers_issued=F("vouchers_issued") + served.vouchers,
        points_given=F("points_given") + served.points,
        messages_queued=F("messages_queued") + served.messages,
        members_held_out=F("members_held_out") + served.held_out,
    )
    return served


def _ranges_run(ranges: list[tuple[int, int]], work, workers: int) -> None:
    """Run `work(id_range)` for every range: in this thread, or on `workers` threads with a
    database connection each (PostgreSQL, outside any transaction: ranges are independent and
    each commits on its own). The first failure stops the ranges not started yet and is
    raised once the others have finished."""
    if workers <= 1 or len(ranges) <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        for id_range in ranges:
            work(id_range)
        return
    failed: list[Exception] = []

    def guarded(id_range):
        try:
            if not failed:
                work(id_range)
        except Exception as exc:  # noqa: BLE001 -- raised again below, once the others are done
            failed.append(exc)
        finally:
            connection.close()  # this worker thread's own connection

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="campaign-run") as pool:
        list(pool.map(guarded, ranges))
    if failed:
        raise failed[0]


def campaign_run(
    *,
    campaign: Campaign,
    as_of: datetime.date | None = None,
    trigger: str = CampaignRun.Trigger.MANUAL,
    by=None,
    chunk_span: int = CHUNK_SPAN,
    workers: int = RUN_WORKERS,
) -> CampaignRun:
    """Run the campaign for the day `as_of` (default today, programme time zone) and return the
    run with its figures. Refused (nothing written) when the campaign is not active or the day
    is in the future. A failure part-way leaves the ranges already done committed and the run
    marked failed with the reason; running again finishes the job without serving anybody
    twice. On PostgreSQL, `workers` ranges are processed side by side."""
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
    audience = campaign_audience(campaign, as_of)
    try:
        CampaignRun.objects.filter(pk=run.pk).update(audience_count=audience.count())
        _ranges_run(
            _id_ranges(chunk_span),
            lambda id_range: _range_run(
                campaign=campaign, run=run, period_key=period_key, audience=audience, id_range=id_range, by=by, now=now
            ),
            workers,
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
    already = run.audience_count - run.members_reached - run.members_skipped - run.members_held_out
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
    if campaign.voucher_delivery == Campaign.VoucherDelivery.CLAIM_LINK:
        # The staff member's own link: it gives nothing, as a test does not serve them.
        values.update(
            voucher_name=campaign.reward.name, claim_link=claim_link(campaign_id=campaign.pk, member_id=member.pk)
        )
    elif campaign.reward_id:
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
