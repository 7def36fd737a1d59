"""Issuing one voucher of a reward to many members at once: the set-based twin of
`voucher_issue`, for a campaign run that serves tens of thousands of members (the single-row
service costs a dozen queries per member; a birthday campaign over a million members would take
many minutes).

The rules are `voucher_issue`'s own functions, not a copy: the issuing window, validity and
stock (`reward_refusal_for_anyone`, `reward_stock_left`), the per-member limit
(`member_reward_counts`, `reward_limit_reached`), the expiry (`voucher_expires_at`), the code
format and drawing (`vouchers.codes`), the reason and reference rules and the field validation
(`vouchers.services.vouchers`). The invariants too: the reward's row is locked (`FOR NO KEY
UPDATE`) while stock and limits are checked, `issued_count` moves by `F()` in the same
transaction (the `issued_count <= stock` constraint stays the backstop), and each voucher
carries the caller's idempotency reference: a member who already holds the voucher of their
reference gets it back instead of a new one, and a reference used for another voucher is
refused (VoucherReferenceReused). A reward nobody can get (window closed, no longer valid)
raises RewardUnavailable and writes nothing; members who cannot have one are refused one by one,
with the reason: `member-inactive` (blocked, merged, unknown), `member-limit`, `out-of-stock`
(first come, first served: in the order given, or by id for a queryset).

Differences from `voucher_issue`, on purpose: no "voucher-issued" message is written (the
caller tells the members, e.g. with `notifications.services.messages_enqueue_bulk`, in the same
transaction); the calendar is the programme's (no store); a refusal is per member, not raised.

Members are given as a list of ids or as a queryset. A queryset is only ever used as a subquery
(never turned into a long IN list), and rows are written as plain values with COPY on
PostgreSQL (`loyalty_site.core.rows`): that is where the speed comes from.

Two ways in:
- `vouchers_issue_bulk`: all in one transaction, the reward locked from the start;
- `vouchers_plan_bulk` (no lock: existing vouchers, inactive members, codes and expiry) then
  `vouchers_issue_planned` (the lock, stock and limits, the insert), so that a campaign run
  writes its messages in between and holds the reward's lock briefly. Between the two, nobody
  else may issue under the same references: a campaign run's delivery claim ensures it."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from loyalty_site.core.events import EventKind, record_events_bulk
from loyalty_site.core.rows import rows_insert
from members.models import Member
from members.selectors import values_where_in
from vouchers.codes import voucher_codes_generate
from vouchers.models import Reward, Voucher
from vouchers.selectors import (
    member_reward_counts,
    reward_limit_reached,
    reward_refusal_for_anyone,
    reward_stock_left,
    voucher_expires_at,
    zone_for,
)
from vouchers.services.vouchers import (
    free_issue_reason,
    issue_reference,
    reference_reused,
    voucher_event,
    voucher_validate,
)


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


def _codes_taken(codes: list[str]) -> set[str]:
    if connection.vendor == "postgresql":
        # One array parameter rather than tens of thousands of placeholders.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT code FROM {connection.ops.quote_name(Voucher._meta.db_table)} WHERE code = ANY(%s)",  # noqa: S608
                [codes],
            )
            return {row[0] for row in cursor.fetchall()}
    return set(Voucher.objects.filter(code__in=codes).values_list("code", flat=True))


def voucher_codes_free(count: int) -> list[str]:
    """`count` distinct codes that no voucher has yet (one query per draw)."""
    codes: list[str] = []
    chosen: set[str] = set()
    while len(codes) < count:
        drawn = [c for c in dict.fromkeys(voucher_codes_generate(count - len(codes))) if c not in chosen]
        taken = _codes_taken(drawn)
        for code in drawn:
            if code not in taken:
                codes.append(code)
                chosen.add(code)
    return codes


def _members_and_statuses(
    members: QuerySet[Member] | Sequence[int],
) -> tuple[QuerySet[Member], list[tuple[int, str | None]]]:
    """The members as a queryset (for subqueries) and (id, status) in serving order; an id that
    is no member has the status None."""
    if isinstance(members, QuerySet):
        return members, list(members.order_by("pk").values_list("pk", "status"))
    ids = list(dict.fromkeys(members))
    queryset = Member.objects.filter(pk__in=ids)
    statuses = dict(queryset.order_by().values_list("pk", "status"))
    return queryset, [(member_id, statuses.get(member_id)) for member_id in ids]


def vouchers_plan_bulk(
    *,
    reward: Reward,
    members: QuerySet[Member] | Sequence[int],
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
    reason = free_issue_reason(channel=channel, reason=reason, service="vouchers_plan_bulk")
    now = now or timezone.now()
    zone = zone_for(None)
    queryset, statuses = _members_and_statuses(members)
    plan = VoucherPlan(
        reward=reward,
        members=queryset,
        channel=channel,
        reason=reason,
        issued_by_id=getattr(issued_by, "pk", None),
        now=now,
    )
    if not statuses:
        return plan

    def reference_of(member_id: int) -> str:
        reference = issue_reference(reference_for(member_id))
        if reference is None:
            raise ValueError("a bulk issue needs a reference for every member")
        return reference

    for member_id, code, expires_at, reference in Voucher.objects.filter(
        reward_id=reward.pk, member_id__in=queryset.order_by().values("pk"), reference__isnull=False
    ).values_list("member_id", "code", "expires_at", "reference"):
        if reference == reference_of(member_id):
            plan.existing[member_id] = IssuedVoucher(member_id, code, expires_at, reference)
    wanted = [(m, status) for m, status in statuses if m not in plan.existing]
    if not wanted:
        return plan
    refusal = reward_refusal_for_anyone(reward=reward, at=now, zone=zone)
    if refusal is not None and refusal.reason != "out-of-stock":
        raise refusal.error()
    for member_id, status in wanted:
        if status != Member.Status.ACTIVE:
            plan.refused[member_id] = "member-inactive"
    active = [m for m, _status in wanted if m not in plan.refused]
    if not active:
        return plan
    expires_at = voucher_expires_at(reward=reward, issued_at=now, zone=zone)
    codes = voucher_codes_free(len(active))
    sample = Voucher(
        code=codes[0], reward=reward, member_id=active[0], channel=channel, issued_at=now,
        issued_by_id=plan.issued_by_id, reason=reason, reference=reference_of(active[0]), expires_at=expires_at,
    )  # fmt: skip
    # Every row differs only in member, code and reference: validating one validates the shape
    # of all (a full_clean per row would cost more than the insert; the foreign keys are the
    # database's to check).
    voucher_validate(sample, exclude=["member", "reward", "issued_by"])
    for member_id, code in zip(active, codes, strict=True):
        plan.planned[member_id] = IssuedVoucher(member_id, code, expires_at, reference_of(member_id))
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
    zone = zone_for(None)
    with transaction.atomic():
        locked = Reward.objects.select_for_update(no_key=True).get(pk=plan.reward.pk)
        refusal = reward_refusal_for_anyone(reward=locked, at=now, zone=zone)
        if refusal is not None and refusal.reason != "out-of-stock":
            raise refusal.error()
        wanted = list(plan.planned)
        if locked.limit_per_member is not None:
            counts = member_reward_counts(
                reward=locked, members=plan.members.order_by().values("pk"), at=now, zone=zone
            )
            for member_id in wanted:
                if reward_limit_reached(reward=locked, count=counts.get(member_id, 0)):
                    result.refused[member_id] = "member-limit"
            wanted = [m for m in wanted if m not in result.refused]
        left = reward_stock_left(locked)
        if left is not None:
            for member_id in wanted[left:]:
                result.refused[member_id] = "out-of-stock"
            wanted = wanted[:left]
        if not wanted:
            return result
        issued = [plan.planned[m] for m in wanted]
        rows = (
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
        )
        try:
            with transaction.atomic():
                rows_insert(Voucher, rows, now=now)
        except IntegrityError:
            # As `voucher_issue`: a reference already used for another voucher is the caller's
            # mistake, refused; anything else (a code drawn by someone else since the plan) is
            # raised as it is, and the caller's transaction rolls back.
            reused = Voucher.objects.filter(reference__in=[v.reference for v in issued]).order_by("reference")
            reference = reused.values_list("reference", flat=True).first()
            if reference is not None:
                raise reference_reused(reference) from None
            raise
        Reward.objects.filter(pk=locked.pk).update(issued_count=F("issued_count") + len(issued))
        ids = dict(values_where_in(Voucher, ("code", "id"), "code", [v.code for v in issued]))
        record_events_bulk(
            voucher_event(
                EventKind.VOUCHER_ISSUED,
                Voucher(
                    pk=ids[v.code],
                    member_id=v.member_id,
                    reward_id=locked.pk,
                    channel=plan.channel,
                    expires_at=v.expires_at,
                ),
                at=now,
            )
            for v in issued
        )
        for voucher in issued:
            result.vouchers[voucher.member_id] = voucher
        result.new = len(issued)
    return result


def vouchers_issue_bulk(
    *,
    reward: Reward,
    members: QuerySet[Member] | Sequence[int],
    reference_for: Callable[[int], str],
    channel: str = Voucher.Channel.CAMPAIGN,
    reason: str = "",
    issued_by=None,
    now: datetime.datetime | None = None,
) -> BulkIssue:
    """Issue one voucher of `reward` to each member, without points, in one transaction (the
    caller's, when there is one), the reward locked from the start: `vouchers_plan_bulk` and
    `vouchers_issue_planned` in one go."""
    with transaction.atomic():
        locked = Reward.objects.select_for_update(no_key=True).get(pk=reward.pk)
        plan = vouchers_plan_bulk(
            reward=locked,
            members=members,
            reference_for=reference_for,
            channel=channel,
            reason=reason,
            issued_by=issued_by,
            now=now,
        )
        return vouchers_issue_planned(plan=plan)


__all__ = [
    "BulkIssue",
    "IssuedVoucher",
    "VoucherPlan",
    "voucher_codes_free",
    "vouchers_issue_bulk",
    "vouchers_issue_planned",
    "vouchers_plan_bulk",
]
