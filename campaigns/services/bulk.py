"""A set-based variant of `vouchers.services.voucher_issue` for campaign runs that serve tens
of thousands of members at once: the per-member service costs a dozen queries per member, and a
birthday campaign over a million members would take many minutes. (The campaign's messages go
through `notifications.services.messages_enqueue_bulk`.)

It keeps the invariants of `voucher_issue` and uses the vouchers app's own rules and helpers
(selectors, code alphabet): the reward's row is locked (`FOR NO KEY UPDATE`, like
`voucher_issue`) while its issuing window, validity, stock and per-member limit are checked, and
`issued_count` moves by `F()` in the same transaction (the `issued_count <= stock` constraint
stays the backstop); codes have the format of `vouchers.codes`, are drawn from the system's
random source and checked free before the insert; each voucher carries the caller's idempotency
reference, and a member who already holds the voucher of that reference gets it back instead of
a new one. The issue is split in two (`vouchers_plan_bulk` without a lock, then
`vouchers_issue_planned`), so that a run writes its messages between them and holds the
reward's lock briefly.

Speed comes from never building model instances or long IN lists: the members of a batch are
a subquery (the campaign's delivery rows of the batch), rows are plain values, and they are
written with COPY on PostgreSQL (`loyalty_site.core.rows`).

It belongs in the vouchers app, whose `vouchers_issue_bulk` (a list of ids, model instances)
does not offer the split or the subquery yet; until it does, it lives here, used only by
`campaigns.runs.services.campaign_runs`."""

from __future__ import annotations

import datetime
import secrets
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from loyalty_site.core.rows import rows_insert
from members.models import Member
from members.selectors import programme_zone
from vouchers.codes import ALPHABET, GROUP, GROUPS, LENGTH
from vouchers.models import Reward, Voucher
from vouchers.selectors import Refusal, limit_period_start, reward_is_active, voucher_expires_at

# --- Vouchers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedVoucher:
    member_id: int
    code: str
    expires_at: datetime.datetime
    reference: str


@dataclass
class BulkIssue:
    """The voucher of each member served (new, or the one issued earlier under the same
    reference), the number new, and the members refused with the reason (`member-limit`,
    `out-of-stock`, `member-inactive`)."""

    vouchers: dict[int, IssuedVoucher] = field(default_factory=dict)
    new: int = 0
    refused: dict[int, str] = field(default_factory=dict)


def voucher_codes_draw(count: int) -> list[str]:
    """`count` distinct codes in the format of `vouchers.codes` (eight characters of its alphabet
    in groups of four), from the system's random source in one read: rejection sampling keeps
    every character equally likely."""
    limit = 256 - 256 % len(ALPHABET)
    codes: set[str] = set()
    while len(codes) < count:
        needed = (count - len(codes)) * LENGTH
        raw = [b for b in secrets.token_bytes(needed * 2) if b < limit]
        for start in range(0, len(raw) - LENGTH + 1, LENGTH):
            chars = "".join(ALPHABET[b % len(ALPHABET)] for b in raw[start : start + LENGTH])
            codes.add("-".join(chars[i : i + GROUP] for i in range(0, GROUP * GROUPS, GROUP)))
            if len(codes) == count:
                break
    return list(codes)


def _codes_taken(codes: list[str]) -> set[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT code FROM {connection.ops.quote_name(Voucher._meta.db_table)} WHERE code = ANY(%s)",  # noqa: S608
                [codes],
            )
            return {row[0] for row in cursor.fetchall()}
    return set(Voucher.objects.filter(code__in=codes).values_list("code", flat=True))


def _free_codes(count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        drawn = [c for c in voucher_codes_draw(count - len(codes)) if c not in codes]
        taken = _codes_taken(drawn)
        codes.extend(c for c in drawn if c not in taken)
    return codes


def reward_refusal_now(reward: Reward, *, at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> Refusal | None:
    """What stops `reward` being issued to anybody now (window, validity, stock), or None."""
    if not reward_is_active(reward=reward, at=at):
        return Refusal("not-active", _("Reward %(code)s cannot be issued at this time.") % {"code": reward.code})
    if voucher_expires_at(reward=reward, issued_at=at, zone=zone) <= at:
        return Refusal("not-active", _("Vouchers of reward %(code)s are no longer valid.") % {"code": reward.code})
    if reward.stock is not None and reward.issued_count >= reward.stock:
        return Refusal("out-of-stock", _("Reward %(code)s is out of stock.") % {"code": reward.code})
    return None


@dataclass
class VoucherPlan:
    """Vouchers drawn for a batch before the reward is locked (see `vouchers_plan_bulk`)."""

    reward: Reward
    members: QuerySet[Member]
    channel: str
    reason: str
    issued_by_id: int | None
    now: datetime.datetime
    existing: dict[int, IssuedVoucher] = field(default_factory=dict)
    planned: dict[int, IssuedVoucher] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)

    @property
    def vouchers(self) -> dict[int, IssuedVoucher]:
        return {**self.existing, **self.planned}


def vouchers_plan_bulk(
    *,
    reward: Reward,
    members: QuerySet[Member],
    reference_for: Callable[[int], str],
    channel: str = Voucher.Channel.CAMPAIGN,
    reason: str = "",
    issued_by=None,
    now: datetime.datetime | None = None,
) -> VoucherPlan:
    """The first half of a bulk issue, without any lock: the vouchers already issued under each
    member's reference (a retry gets them back), the members who are not active (refused), and
    for the others a voucher with a free code and its expiry, to be issued by
    `vouchers_issue_planned`. A reward that cannot be issued now raises RewardUnavailable."""
    now = now or timezone.now()
    zone = programme_zone()
    plan = VoucherPlan(
        reward=reward,
        members=members,
        channel=channel,
        reason=reason[:300],
        issued_by_id=getattr(issued_by, "pk", None),
        now=now,
    )
    statuses = dict(members.order_by("pk").values_list("pk", "status"))
    if not statuses:
        return plan
    for member_id, code, expires_at, reference in Voucher.objects.filter(
        reward_id=reward.pk, member_id__in=members.order_by().values("pk"), reference__isnull=False
    ).values_list("member_id", "code", "expires_at", "reference"):
        if reference == reference_for(member_id):
            plan.existing[member_id] = IssuedVoucher(member_id, code, expires_at, reference)
    wanted = [m for m in statuses if m not in plan.existing]
    if not wanted:
        return plan
    refusal = reward_refusal_now(reward, at=now, zone=zone)
    if refusal is not None and refusal.reason != "out-of-stock":
        raise refusal.error()
    for member_id in wanted:
        if statuses[member_id] != Member.Status.ACTIVE:
            plan.refused[member_id] = "member-inactive"
    wanted = [m for m in wanted if m not in plan.refused]
    if not wanted:
        return plan
    expires_at = voucher_expires_at(reward=reward, issued_at=now, zone=zone)
    sample = Voucher(
        code=voucher_codes_draw(1)[0], reward=reward, member_id=wanted[0], channel=channel, issued_at=now,
        issued_by_id=plan.issued_by_id, reason=plan.reason, reference=reference_for(wanted[0]), expires_at=expires_at,
    )  # fmt: skip
    # Every row differs only in member, code and reference: validating one validates the shape
    # of all (a full_clean per row would cost more than the insert).
    try:
        sample.full_clean(exclude=["member", "reward", "issued_by"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationFailed(errors=exc.message_dict) from exc
    for member_id, code in zip(wanted, _free_codes(len(wanted)), strict=True):
        plan.planned[member_id] = IssuedVoucher(member_id, code, expires_at, reference_for(member_id))
    return plan


def vouchers_issue_planned(*, plan: VoucherPlan) -> BulkIssue:
    """The second half, in the caller's transaction: lock the reward's row, check again that it
    can be issued (RewardUnavailable otherwise), refuse the members over the per-member limit and
    those beyond the stock left, insert the others' vouchers and move `issued_count` by as many.
    The lock is held from here to the caller's commit: call it as late as the work allows."""
    result = BulkIssue(vouchers=dict(plan.existing), refused=dict(plan.refused))
    if not plan.planned:
        return result
    now = plan.now
    zone = programme_zone()
    with transaction.atomic():
        locked = Reward.objects.select_for_update(no_key=True).get(pk=plan.reward.pk)
        refusal = reward_refusal_now(locked, at=now, zone=zone)
        if refusal is not None and refusal.reason != "out-of-stock":
            raise refusal.error()
        wanted = list(plan.planned)
        if locked.limit_per_member is not None:
            held = Voucher.objects.filter(
                reward_id=locked.pk, member_id__in=plan.members.order_by().values("pk")
            ).exclude(status=Voucher.Status.VOID)
            start = limit_period_start(period=locked.limit_period, at=now, zone=zone)
            if start is not None:
                held = held.filter(issued_at__gte=start)
            counts = dict(held.order_by().values("member_id").annotate(n=Count("pk")).values_list("member_id", "n"))
            for member_id in wanted:
                if counts.get(member_id, 0) >= locked.limit_per_member:
                    result.refused[member_id] = "member-limit"
            wanted = [m for m in wanted if m not in result.refused]
        if locked.stock is not None:
            left = max(0, locked.stock - locked.issued_count)
            for member_id in wanted[left:]:
                result.refused[member_id] = "out-of-stock"
            wanted = wanted[:left]
        if not wanted:
            return result
        issued = [plan.planned[m] for m in wanted]
        rows_insert(
            Voucher,
            (
                {
                    "code": v.code,
                    "reward_id": locked.pk,
                    "member_id": v.member_id,
                    "status": Voucher.Status.ISSUED,
                    "channel": plan.channel,
                    "issued_at": now,
                    "issued_by_id": plan.issued_by_id,
                    "reason": plan.reason,
                    "reference": v.reference,
                    "expires_at": v.expires_at,
                }
                for v in issued
            ),
            now=now,
        )
        Reward.objects.filter(pk=locked.pk).update(issued_count=F("issued_count") + len(issued))
        for voucher in issued:
            result.vouchers[voucher.member_id] = voucher
        result.new = len(issued)
    return result


__all__ = [
    "BulkIssue",
    "IssuedVoucher",
    "VoucherPlan",
    "voucher_codes_draw",
    "vouchers_issue_planned",
    "vouchers_plan_bulk",
]
