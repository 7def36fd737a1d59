"""Reads of the members app: the programme settings, member lookup, balances and what the POS
shows about a member. Nothing here writes."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.money import points_to_money
from members.codes import code_normalise
from members.errors import MemberNotFound
from members.models import (
    Card,
    ConsentChange,
    LedgerEntry,
    LotMovement,
    Member,
    PointLot,
    PresenceKey,
    ProgrammeSettings,
    StoreCreditEntry,
)
from members.phones import phone_masked, phone_or_none
from members.presence import token_matching_step, token_split
from members.search import name_pattern, phone_term
from stores.models import Store

PROGRAMME_SETTINGS_CACHE_KEY = "members:programme-settings:v1"
# Short enough that a worker whose cache missed an invalidation (e.g. a local-memory cache in
# another process) is wrong for at most a minute; long enough that a busy till costs no query.
PROGRAMME_SETTINGS_CACHE_SECONDS = 60


# --- Programme settings -----------------------------------------------------------------------


def programme_settings_get(*, fresh: bool = False) -> ProgrammeSettings:
    """The programme's point settings (the one row, created with the defaults if missing).
    Cached in the default cache (Redis in production, shared by every worker) and invalidated by
    `programme_settings_update`; `fresh=True` reads the database."""
    if not fresh:
        cached = cache.get(PROGRAMME_SETTINGS_CACHE_KEY)
        if cached is not None:
            return cached
    programme, _created = ProgrammeSettings.objects.get_or_create(pk=ProgrammeSettings.SINGLETON_PK)
    if connection.in_atomic_block:
        # Only committed settings go into the shared cache: a transaction that changed them and
        # then rolls back (or a test) must not leave its version behind for everyone else.
        transaction.on_commit(lambda: _programme_settings_cache(programme))
    else:
        _programme_settings_cache(programme)
    return programme


def _programme_settings_cache(programme: ProgrammeSettings) -> None:
    cache.set(PROGRAMME_SETTINGS_CACHE_KEY, programme, PROGRAMME_SETTINGS_CACHE_SECONDS)


def programme_zone() -> zoneinfo.ZoneInfo:
    """The zone the programme's calendar rules (expiry dates, the expiry job's day) use."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


# --- Finding members --------------------------------------------------------------------------


def member_resolve(member: Member) -> Member:
    """The live record behind `member`: a merged member stands for its survivor."""
    seen = set()
    while member.merged_into_id is not None and member.pk not in seen:
        seen.add(member.pk)
        member = Member.objects.select_related("home_store").get(pk=member.merged_into_id)
    return member


def member_get(*, member_id: int) -> Member:
    """The member with this id (its survivor if it was merged); MemberNotFound otherwise."""
    member = Member.objects.select_related("home_store").filter(pk=member_id).first()
    if member is None:
        raise MemberNotFound(_("No member with id %(id)s.") % {"id": member_id})
    return member_resolve(member)


def member_lookup(*, query: str) -> Member | None:
    """Find a member by an active card number, a member code or a phone number in any common
    Vietnamese form, in that order (a card is an exact identifier; a member code always starts
    with a letter, so it never collides with a phone). Merged records resolve to their
    survivor; a deactivated (lost) card finds nobody."""
    query = (query or "").strip()
    if not query:
        return None
    by_token = member_by_token(token=query)
    if by_token is not None:
        return member_resolve(by_token[0])
    members = Member.objects.select_related("home_store")
    normalised = code_normalise(query)
    card = Card.objects.filter(number=normalised, is_active=True).select_related("member__home_store").first()
    if card is not None:
        return member_resolve(card.member)
    member = members.filter(code=normalised).first()
    if member is None:
        phone = phone_or_none(query)
        member = members.filter(phone=phone).first() if phone else None
    return member_resolve(member) if member is not None else None


def member_search(*, term: str, queryset: QuerySet[Member] | None = None) -> QuerySet[Member]:
    """The members a staff search designates (members/search.py): a phone whole or its start or
    last 6+ digits, a member code, a card number (active or not: staff look up lost cards too) or
    an email exactly, or a name with or without accents (every word of the term in the folded
    name). Each condition is served by an index on PostgreSQL; the term decides which are tried,
    so no search reads the whole table. Not ordered: the caller's ordering applies."""
    queryset = Member.objects.all() if queryset is None else queryset
    term = (term or "").strip()
    if not term:
        return queryset
    exact = code_normalise(term)
    found = Q(code=exact) | Q(pk__in=list(Card.objects.filter(number=exact).values_list("member_id", flat=True)[:50]))
    if "@" in term:
        local, _at, domain = term.rpartition("@")
        found |= Q(email=f"{local}@{domain.lower()}")  # stored so (members.services._clean_email)
    phone = phone_term(term)
    if phone is not None:
        if phone.e164:
            found |= Q(phone=phone.e164)
        if phone.prefix:
            found |= Q(phone__startswith=phone.prefix)
        if phone.suffix:
            found |= Q(phone_reversed__startswith=phone.suffix[::-1])
        queryset = queryset.alias(phone_reversed=Reverse("phone"))
    elif (pattern := name_pattern(term)) is not None:
        found |= Q(name_folded__regex=pattern)
    return queryset.filter(found)


def member_ids_search(*, term: str, limit: int = 500) -> list[int]:
    """The ids of at most `limit` members `member_search` finds (newest first): for the lists
    of other records (sales, ledger entries, vouchers...) searched by their member."""
    return list(member_search(term=term).order_by("-enrolled_at", "-pk").values_list("pk", flat=True)[:limit])


def member_by_token(*, token: str, at: datetime.datetime | None = None) -> tuple[Member, int] | None:
    """The member whose card token (`members.presence`) `token` is, and the token's time step,
    while it is valid (120 s); None for anything else. Used or not: that is the spend's check."""
    parts = token_split(token)
    if parts is None:
        return None
    handle, mac = parts
    key = PresenceKey.objects.select_related("member__home_store").filter(handle=handle).first()
    if key is None:
        return None
    step = token_matching_step(handle=key.handle, secret=key.secret, mac=mac, at=at or timezone.now())
    return (key.member, step) if step is not None else None


def member_by_referral_code(*, referral_code: str) -> Member | None:
    member = Member.objects.filter(referral_code=code_normalise(referral_code)).first()
    return member_resolve(member) if member is not None else None


# --- Points -----------------------------------------------------------------------------------


def values_where_in(model, fields: tuple[str, ...], field: str, values: list, *, chunk: int = 5000) -> Iterator[tuple]:
    """`model.objects.filter(<field>__in=values).values_list(*fields)` for many values, chunked,
    for the set-based import and `members.services.bulk`. On PostgreSQL as `= ANY(%s)` with one
    array parameter: an IN list of 5,000 placeholders costs ~0.1 s to build, send and parse,
    which added up to seconds per 100,000 rows."""
    if not values:
        return
    if connection.vendor != "postgresql":
        for start in range(0, len(values), chunk):
            yield from model.objects.filter(**{f"{field}__in": values[start : start + chunk]}).values_list(*fields)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.get_field(field).column)} = ANY(%s)"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(values), 50_000):
            cursor.execute(sql, [list(values[start : start + 50_000])])
            yield from cursor.fetchall()


def lots_open(*, member: Member) -> QuerySet[PointLot]:
    """The member's lots that still hold points, soonest-expiring first (never-expiring last),
    the order in which debits consume them."""
    return PointLot.objects.filter(member_id=member.pk, remaining__gt=0).order_by(
        F("expires_at").asc(nulls_last=True), "earned_at", "pk"
    )


def lots_spendable(*, member: Member, at: datetime.datetime | None = None) -> QuerySet[PointLot]:
    at = at or timezone.now()
    return (
        lots_open(member=member)
        .filter(available_from__lte=at)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
    )


def member_spendable_points(*, member: Member, at: datetime.datetime | None = None) -> int:
    """Points the member can spend now: available (past the pending period), not expired,
    less any debt (which only exists when no lot holds points)."""
    total = lots_spendable(member=member, at=at).aggregate(total=Coalesce(Sum("remaining"), 0))["total"]
    return max(0, total - member.points_debt)


def member_points_coverable(*, member: Member, at: datetime.datetime | None = None) -> int:
    """What a claw-back could take from the member now without adding to their debt: the
    points in unexpired lots (pending ones included, as `points_reverse` takes them) less the
    debt already owed (read afresh: a caller voiding vouchers has just moved it). Negative while
    the member owes points."""
    at = at or timezone.now()
    held = (
        lots_open(member=member)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .aggregate(total=Coalesce(Sum("remaining"), 0))["total"]
    )
    debt = Member.objects.filter(pk=member.pk).values_list("points_debt", flat=True).first() or 0
    return held - debt


def member_pending_points(*, member: Member, at: datetime.datetime | None = None) -> int:
    at = at or timezone.now()
    return (
        lots_open(member=member).filter(available_from__gt=at).aggregate(total=Coalesce(Sum("remaining"), 0))["total"]
    )


def member_points_expiring(*, member: Member, within_days: int = 30, at: datetime.datetime | None = None) -> int:
    """Points that will expire in the next `within_days` days (not those already due)."""
    at = at or timezone.now()
    return (
        lots_open(member=member)
        .filter(expires_at__gt=at, expires_at__lte=at + datetime.timedelta(days=within_days))
        .aggregate(total=Coalesce(Sum("remaining"), 0))["total"]
    )


def ledger_entries_recent(*, member: Member, limit: int = 10) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(member_id=member.pk)
        .select_related("created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def member_consent_changes(*, member: Member, limit: int = 100) -> list[ConsentChange]:
    """The member's consent record (Decree 13/2023), newest first."""
    return list(ConsentChange.objects.filter(member_id=member.pk).select_related("by").order_by("-at", "-pk")[:limit])


# --- What the POS shows -----------------------------------------------------------------------


def member_birthday_today(*, member: Member, zone: zoneinfo.ZoneInfo, at: datetime.datetime | None = None) -> bool:
    """Whether today, in `zone` (the store's), is the member's birthday. A 29 February birthday
    is celebrated on 28 February in other years."""
    if member.birthday is None:
        return False
    today = timezone.localtime(at or timezone.now(), zone).date()
    birthday = member.birthday
    if birthday.month == 2 and birthday.day == 29 and not _is_leap(today.year):
        return (today.month, today.day) == (2, 28)
    return (today.month, today.day) == (birthday.month, birthday.day)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@dataclass(frozen=True)
class TierSummary:
    code: str
    name: str


def member_entry_tier() -> TierSummary:
    """The programme's entry tier as the POS shows it. A placeholder until the tiers app
    (issue 5) exists: the POS layer will then ask `tiers` for the member's real tier."""
    return TierSummary(code="MEMBER", name=str(_("Member")))


@dataclass(frozen=True)
class MemberSummary:
    """The member summary of the POS contract, before `pos` adds what higher apps know (the
    member's tier and usable vouchers)."""

    id: int
    code: str
    name: str
    phone_masked: str
    status: str
    tier: TierSummary
    points_balance: int
    points_debt: int
    points_available: int
    points_value: Decimal
    birthday_today: bool
    vouchers: list = field(default_factory=list)
    store_credit_balance: Decimal = Decimal(0)


def member_summary(*, member: Member, store: Store, at: datetime.datetime | None = None) -> MemberSummary:
    programme = programme_settings_get()
    return MemberSummary(
        id=member.pk,
        code=member.code,
        name=member.name,
        phone_masked=phone_masked(member.phone),
        status=member.status,
        tier=member_entry_tier(),
        points_balance=member.points_balance,
        points_debt=member.points_debt,
        points_available=member_spendable_points(member=member, at=at),
        points_value=points_to_money(member.points_balance, programme.point_value),
        birthday_today=member_birthday_today(member=member, zone=store.zone, at=at),
        vouchers=[],
        store_credit_balance=member.store_credit_balance,
    )


# --- Ledger consistency -----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerDrift:
    """One disagreement between a cached figure and the entries it must equal."""

    what: str  # "balance", "debt", "lot", "store credit" or "store credit entry"
    object_id: int
    cached: int | Decimal
    expected: int | Decimal

    def __str__(self) -> str:
        return f"{self.what} #{self.object_id}: cached {self.cached}, entries say {self.expected}"


def balances_implausible(*, ceiling: int | None = None) -> list[tuple[int, str, int]]:
    """Members whose balance is above `ceiling` points (default: the `LEDGER_PLAUSIBLE_BALANCE_MAX`
    setting), highest first, as (id, code, balance): not drift, but more than any honest
    customer holds, e.g. points earned through a leaked till key before the limits existed."""
    ceiling = settings.LEDGER_PLAUSIBLE_BALANCE_MAX if ceiling is None else ceiling
    return list(
        Member.objects.filter(points_balance__gt=ceiling)
        .order_by("-points_balance", "pk")
        .values_list("pk", "code", "points_balance")
    )


def ledger_drift() -> list[LedgerDrift]:
    """Every member whose cached balance differs from the sum of their entries, or whose debt
    differs from (points left in lots - balance), and every lot whose `remaining` differs from
    the sum of its movements. Empty when the ledger is consistent. Set-based: three queries."""
    entry_sum = (
        LedgerEntry.objects.filter(member_id=OuterRef("pk"))
        .order_by()
        .values("member_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    lot_sum = (
        PointLot.objects.filter(member_id=OuterRef("pk"))
        .order_by()
        .values("member_id")
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    members = Member.objects.annotate(
        entries_total=Coalesce(Subquery(entry_sum), 0), lots_total=Coalesce(Subquery(lot_sum), 0)
    ).order_by("pk")
    drift: list[LedgerDrift] = []
    for member_id, balance, entries_total in members.exclude(points_balance=F("entries_total")).values_list(
        "pk", "points_balance", "entries_total"
    ):
        drift.append(LedgerDrift("balance", member_id, balance, entries_total))
    for member_id, debt, lots_total, entries_total in members.exclude(
        points_debt=F("lots_total") - F("entries_total")
    ).values_list("pk", "points_debt", "lots_total", "entries_total"):
        drift.append(LedgerDrift("debt", member_id, debt, lots_total - entries_total))
    movement_sum = (
        LotMovement.objects.filter(lot_id=OuterRef("pk"))
        .order_by()
        .values("lot_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    for lot_id, remaining, moved in (
        PointLot.objects.annotate(moved=Coalesce(Subquery(movement_sum), 0))
        .exclude(remaining=F("moved"))
        .order_by("pk")
        .values_list("pk", "remaining", "moved")
    ):
        drift.append(LedgerDrift("lot", lot_id, remaining, moved))
    return drift


def member_store_credit_balance(*, member_id: int) -> Decimal | None:
    """The member's store credit now (None for no such member)."""
    return Member.objects.filter(pk=member_id).values_list("store_credit_balance", flat=True).first()


def store_credit_entries_recent(*, member: Member, limit: int = 20) -> list[StoreCreditEntry]:
    """The member's latest store-credit entries, newest first."""
    return list(StoreCreditEntry.objects.filter(member_id=member.pk).order_by("-created_at", "-pk")[:limit])


def store_credit_drift() -> list[LedgerDrift]:
    """Every member whose cached store credit differs from the sum of their store-credit entries,
    and every entry whose running `balance_after` is negative (a spend that should have been
    refused). Empty when consistent. Set-based: two queries."""
    entry_sum = (
        StoreCreditEntry.objects.filter(member_id=OuterRef("pk"))
        .order_by()
        .values("member_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    drift = [
        LedgerDrift("store credit", member_id, cached, expected)
        for member_id, cached, expected in Member.objects.annotate(
            entries_total=Coalesce(Subquery(entry_sum), Decimal(0), output_field=models.DecimalField())
        )
        .exclude(store_credit_balance=F("entries_total"))
        .order_by("pk")
        .values_list("pk", "store_credit_balance", "entries_total")
    ]
    drift += [
        LedgerDrift("store credit entry", entry_id, balance_after, Decimal(0))
        for entry_id, balance_after in StoreCreditEntry.objects.filter(balance_after__lt=0)
        .order_by("pk")
        .values_list("pk", "balance_after")
    ]
    return drift
