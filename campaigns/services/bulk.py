"""Set-based variants of `vouchers.services.voucher_issue` and
`notifications.services.message_enqueue`, for campaign runs that serve tens of thousands of
members at once. The per-member services cost some twenty queries and a few milliseconds of
Python per member: a birthday campaign over a million members would take many minutes.

They keep the invariants of the services they stand in for, and use those apps' own rules and
helpers (selectors, code alphabet, placeholder parsing and value formatting, quiet hours, the
daily cap) rather than copies of them:
- vouchers: the reward's row is locked (`FOR NO KEY UPDATE`, like `voucher_issue`) while its
  issuing window, validity, stock and per-member limit are checked, and `issued_count` moves by
  `F()` in the same transaction (the `issued_count <= stock` constraint stays the backstop);
  codes have the format of `vouchers.codes`, are drawn from the system's random source and
  checked free before the insert; each voucher carries the caller's idempotency reference, and
  a member who already holds the voucher of that reference gets it back instead of a new one;
- messages: the skip rules of `message_enqueue` in its order (template, blocked member, consent,
  address, missing placeholder, daily marketing cap), the members' rows locked for the cap as it
  does, the same quiet hours and the same dedupe key (an existing key writes nothing). Pending
  messages are handed to the sender in one task per batch after commit; a lost task is picked
  up by the outbox sweeper, as for any message.

Speed comes from never building model instances or long IN lists: the members of a batch are
a subquery (the campaign's delivery rows of the batch), rows are plain values, and they are
written with COPY on PostgreSQL (executemany elsewhere).

They belong in the vouchers and notifications apps; until those apps offer bulk services, they
live here, used only by `campaigns.services.campaign_runs`."""

from __future__ import annotations

import datetime
import json
import secrets
import string
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from members.selectors import programme_zone
from notifications.conf import notifications_setting
from notifications.models import MARKETING_EVENTS, Channel, Event, MemberPreference, Message, MessageTemplate
from notifications.rendering import PLACEHOLDERS, PlaceholderError, format_value, placeholders_in
from notifications.selectors import member_address, member_values, member_zone, template_pick, templates_active
from notifications.timing import local_day_bounds, quiet_hours_release
from stores.models import Store
from vouchers.codes import ALPHABET, GROUP, GROUPS, LENGTH
from vouchers.models import Reward, Voucher
from vouchers.selectors import Refusal, limit_period_start, reward_is_active, voucher_expires_at

# --- Writing rows without model instances -------------------------------------------------------


def _row_defaults(model: type[models.Model], now: datetime.datetime) -> list[tuple[models.Field, object]]:
    """Each concrete field but the automatic primary key, with the value it gets when a row does
    not give one (its default; `now` for auto_now / auto_now_add)."""
    columns = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key and isinstance(model_field, models.AutoField):
            continue
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            default = now
        else:
            default = model_field.get_default()
        columns.append((model_field, default))
    return columns


def rows_insert(model: type[models.Model], rows: Iterable[dict], *, now: datetime.datetime) -> int:
    """Insert rows given as {attname: value} (the model's defaults fill the rest) in the current
    transaction: COPY on PostgreSQL, one executemany elsewhere. Constraints and triggers apply
    as for any insert. Returns the number of rows."""
    columns = _row_defaults(model, now)
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f, _default in columns)
    table = quote(model._meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            plan = [(f.attname, default) for f, default in columns]
            moments = [i for i, (f, _d) in enumerate(columns) if isinstance(f, models.DateTimeField)]
            documents = [i for i, (f, _d) in enumerate(columns) if isinstance(f, models.JSONField)]
            # The same few times (now, an expiry) recur on every row: turned into COPY text once.
            as_text: dict[datetime.datetime, str] = {}
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    values = [row.get(attname, default) for attname, default in plan]
                    for i in moments:
                        moment = values[i]
                        if moment is not None:
                            text = as_text.get(moment)
                            if text is None:
                                text = as_text[moment] = moment.isoformat()
                            values[i] = text
                    for i in documents:
                        document = values[i]
                        if document is not None:
                            values[i] = "{}" if document == {} else json.dumps(document)
                    copy.write_row(values)
                    count += 1
        else:
            prepared = [
                [f.get_db_prep_save(row.get(f.attname, default), connection) for f, default in columns] for row in rows
            ]
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608 -- names quoted
            cursor.executemany(sql, prepared)
            count = len(prepared)
    return count


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


def vouchers_issue_bulk(
    *,
    reward: Reward,
    members: QuerySet[Member],
    reference_for: Callable[[int], str],
    channel: str = Voucher.Channel.CAMPAIGN,
    reason: str = "",
    issued_by=None,
    now: datetime.datetime | None = None,
) -> BulkIssue:
    """Issue one voucher of `reward`, without points, to each member of `members` (a queryset,
    used as a subquery), in the caller's transaction: `vouchers_plan_bulk` then
    `vouchers_issue_planned`. A reward that cannot be issued at all raises RewardUnavailable
    (nothing written); members over the per-member limit, beyond the stock left, or not active
    are refused one by one."""
    with transaction.atomic():
        plan = vouchers_plan_bulk(
            reward=reward,
            members=members,
            reference_for=reference_for,
            channel=channel,
            reason=reason,
            issued_by=issued_by,
            now=now,
        )
        return vouchers_issue_planned(plan=plan)


# --- Messages -----------------------------------------------------------------------------------


@dataclass
class BulkMessages:
    pending: int = 0
    skipped: int = 0
    existing: int = 0
    dispatched: int = 0


class _Compiled:
    """A template parsed once: rendering it for one member is a join of preformatted values
    (what `notifications.selectors.template_render` does, without parsing the text again for
    every message)."""

    def __init__(self, template: MessageTemplate):
        self.template = template
        self.error = ""
        parts = {"subject": template.subject, "body": template.body}
        if template.channel == Channel.ZALO and isinstance(template.zalo_params, dict):
            parts.update({f"zns:{name}": value for name, value in template.zalo_params.items()})
        self.parts: dict[str, list[tuple[str, str | None]]] = {}
        used: list[str] = []
        try:
            for key, text in parts.items():
                used += placeholders_in(text)
                self.parts[key] = [(literal, name) for literal, name, _s, _c in string.Formatter().parse(text or "")]
        except PlaceholderError as exc:
            self.error = str(exc)
        self.used = list(dict.fromkeys(used))
        self._formatted: dict[tuple, str] = {}

    def _format(self, value, language: str, zone) -> str:
        # Dates and amounts repeat from member to member (the voucher's last day, the reward's
        # name): formatted once each.
        if isinstance(value, str):
            return value
        key = (type(value), value, language, zone)
        text = self._formatted.get(key)
        if text is None:
            text = self._formatted[key] = format_value(value, language=language, zone=zone)
        return text

    def render(self, values: dict, zone) -> tuple[dict[str, str], list[str]]:
        if self.error:
            return {}, []
        missing = [n for n in self.used if values.get(n) is None or values.get(n) == ""]
        language = self.template.language
        formatted = {n: self._format(values.get(n), language, zone) for n in self.used}
        texts = {
            key: "".join(literal + (formatted[name] if name is not None else "") for literal, name in pieces)
            for key, pieces in self.parts.items()
        }
        return texts, missing


@dataclass
class _MemberView:
    """What the notifications selectors read of a member, loaded as plain values."""

    pk: int
    name: str
    phone: str
    email: str
    status: str
    points_balance: int
    home_store_id: int | None
    home_store: Store | None
    consents: dict[str, datetime.datetime | None]

    def consent_given_at(self, channel: str) -> datetime.datetime | None:
        return self.consents[channel]


@dataclass
class _PreferenceView:
    language: str
    push_token: str


def _members_load(members: QuerySet[Member], *, lock: bool) -> list[_MemberView]:
    consent_fields = [f"consent_{c}_at" for c in Member.CONSENT_CHANNELS]
    fields = ["pk", "name", "phone", "email", "status", "points_balance", "home_store_id", *consent_fields]
    queryset = Member.objects.filter(pk__in=members.order_by().values("pk")).order_by("pk")
    if lock:
        # As message_enqueue does for marketing (through members_lock: same lock, same order),
        # so that the daily cap holds against concurrent enqueues.
        queryset = queryset.select_for_update(no_key=True)
    stores = {store.pk: store for store in Store.objects.all()}
    views = []
    for row in queryset.values_list(*fields):
        consents = dict(zip(Member.CONSENT_CHANNELS, row[7:], strict=True))
        views.append(_MemberView(*row[:7], home_store=stores.get(row[6]), consents=consents))
    return views


def _marketing_counts(
    members: QuerySet[Member], windows: set[tuple[datetime.datetime, datetime.datetime]]
) -> dict[tuple[int, datetime.datetime], int]:
    """Marketing messages going to each member in each local-day window: one grouped query per
    distinct window (one or two in practice)."""
    counts: dict[tuple[int, datetime.datetime], int] = {}
    for start, end in windows:
        rows = (
            Message.objects.filter(
                member_id__in=members.order_by().values("pk"),
                marketing=True,
                status__in=[Message.Status.PENDING, Message.Status.SENDING, Message.Status.SENT],
                scheduled_at__gte=start,
                scheduled_at__lt=end,
            )
            .order_by()
            .values("member_id")
            .annotate(n=Count("pk"))
            .values_list("member_id", "n")
        )
        for member_id, n in rows:
            counts[(member_id, start)] = n
    return counts


def _consent_required(marketing: bool) -> bool:
    return marketing or notifications_setting("TRANSACTIONAL_REQUIRES_CONSENT")


def messages_enqueue_bulk(
    *,
    members: QuerySet[Member],
    event: str,
    context_for: Callable[[int], dict],
    dedupe_key_for: Callable[[int], str],
    marketing: bool | None = None,
    variant: str = "",
    channels: Iterable[str] | None = None,
    now: datetime.datetime | None = None,
) -> BulkMessages:
    """`message_enqueue` for every member of `members` (a queryset, used as a subquery), in the
    caller's transaction (see the module docstring). A dedupe key already used for a member,
    event and channel writes nothing."""
    if event not in Event.values:
        raise ValueError(f"unknown notification event {event!r}")
    now = now or timezone.now()
    marketing = event in MARKETING_EVENTS if marketing is None else marketing
    result = BulkMessages()
    templates = templates_active(event=event, variant=variant)
    wanted = list(channels) if channels is not None else [
        c for c in Channel.values if any(channel == c for channel, _lang in templates)
    ]
    if not wanted:
        return result
    compiled: dict[int, _Compiled] = {}
    picked: dict[tuple[str, str], MessageTemplate | None] = {}
    zones: dict[int | None, zoneinfo.ZoneInfo] = {}
    timing: dict[tuple, tuple] = {}
    default_language = notifications_setting("DEFAULT_LANGUAGE")
    cap = notifications_setting("MARKETING_DAILY_CAP")
    with transaction.atomic():
        views = _members_load(members, lock=marketing)
        if not views:
            return result
        subquery = members.order_by().values("pk")
        preferences = {
            member_id: _PreferenceView(language, push_token)
            for member_id, language, push_token in MemberPreference.objects.filter(member_id__in=subquery).values_list(
                "member_id", "language", "push_token"
            )
        }
        existing = set(
            Message.objects.filter(member_id__in=subquery, event=event, channel__in=wanted)
            .exclude(dedupe_key="")
            .values_list("member_id", "channel", "dedupe_key")
        )
        rows: list[dict] = []
        for member in views:
            dedupe_key = dedupe_key_for(member.pk)
            preference = preferences.get(member.pk)
            language = preference.language if preference is not None else default_language
            if member.home_store_id not in zones:
                zones[member.home_store_id] = member_zone(member)
            zone = zones[member.home_store_id]
            context = context_for(member.pk)
            unknown = set(context) - set(PLACEHOLDERS)
            if unknown:
                raise ValueError(f"unknown placeholder values {sorted(unknown)}")
            values = {**member_values(member), **{k: v for k, v in context.items() if v is not None}}
            for channel in wanted:
                if (member.pk, channel, dedupe_key) in existing:
                    result.existing += 1
                    continue
                if (channel, language) not in picked:
                    picked[(channel, language)] = template_pick(templates, channel=channel, language=language)
                template = picked[(channel, language)]
                if template is not None and template.pk not in compiled:
                    compiled[template.pk] = _Compiled(template)
                rows.append(
                    _draft(
                        member=member,
                        event=event,
                        channel=channel,
                        template=template,
                        compiled=compiled[template.pk] if template else None,
                        language=language,
                        values=values,
                        marketing=marketing,
                        dedupe_key=dedupe_key,
                        preference=preference,
                        zone=zone,
                        now=now,
                        timing=timing,
                    )
                )
        if marketing and cap > 0:
            pending = [row for row in rows if row["status"] == Message.Status.PENDING]
            counts = _marketing_counts(members, {row["_day"] for row in pending})
            for row in pending:
                key = (row["member_id"], row["_day"][0])
                if counts.get(key, 0) >= cap:
                    _skip(row, Message.SkipReason.DAILY_CAP, _("%(cap)d per day") % {"cap": cap})
                else:
                    counts[key] = counts.get(key, 0) + 1
        for row in rows:
            row.pop("_day", None)
            if row["status"] == Message.Status.PENDING:
                # Sent after commit by one task for the batch; later ones wait for the sweeper,
                # exactly as message_enqueue leaves sends beyond its ETA horizon.
                row["queued_at"] = now if row["scheduled_at"] <= now else None
        rows_insert(Message, rows, now=now)
        result.pending = sum(1 for row in rows if row["status"] == Message.Status.PENDING)
        result.skipped = len(rows) - result.pending
        if any(row.get("queued_at") is not None for row in rows):
            due = list(
                Message.objects.filter(
                    member_id__in=subquery,
                    event=event,
                    created_at=now,
                    status=Message.Status.PENDING,
                    queued_at=now,
                ).values_list("pk", flat=True)
            )
            result.dispatched = len(due)
            transaction.on_commit(lambda: _dispatch(due), robust=True)
    return result


def messages_withdraw(*, member_ids: list[int], event: str, dedupe_key: str, now: datetime.datetime) -> int:
    """Delete the pending messages `messages_enqueue_bulk` wrote in the current transaction (at
    `now`) for these members, e.g. when their voucher turned out to be refused before the
    commit. Returns how many pending ones were withdrawn (a send queued for them finds nothing)."""
    written = Message.objects.filter(member_id__in=member_ids, event=event, dedupe_key=dedupe_key, created_at=now)
    pending = written.filter(status=Message.Status.PENDING).count()
    written.delete()
    return pending


def _skip(row: dict, reason: str, detail: str = "") -> dict:
    row.update(status=Message.Status.SKIPPED, skip_reason=reason, skip_detail=detail[:300], queued_at=None)
    return row


def _draft(
    *,
    member,
    event,
    channel,
    template,
    compiled,
    language,
    values,
    marketing,
    dedupe_key,
    preference,
    zone,
    now,
    timing,
) -> dict:
    """The outbox row for one channel with the per-member rules of `message_enqueue`, in its
    order (the daily cap is applied afterwards, for the whole batch)."""
    row = {
        "member_id": member.pk,
        "event": event,
        "channel": channel,
        "language": template.language if template else language,
        "template_id": template.pk if template else None,
        "marketing": marketing,
        "dedupe_key": dedupe_key,
        "scheduled_at": now,
        "recipient": member_address(member, channel, preference),
        "status": Message.Status.PENDING,
        "skip_reason": "",
        "zns_params": {},
    }
    if template is None:
        return _skip(row, Message.SkipReason.NO_TEMPLATE)
    texts, missing = compiled.render(values, zone)
    row["subject"] = texts.get("subject", "")[:200]
    row["body"] = texts.get("body", "")
    if template.channel == Channel.ZALO:
        row["zns_template_id"] = template.zalo_template_id
        row["zns_params"] = {key[4:]: text for key, text in texts.items() if key.startswith("zns:")}
    if marketing and member.status == Member.Status.BLOCKED:
        return _skip(row, Message.SkipReason.MEMBER_BLOCKED)
    if _consent_required(marketing) and member.consent_given_at(channel) is None:
        return _skip(row, Message.SkipReason.NO_CONSENT)
    if not row["recipient"]:
        return _skip(row, Message.SkipReason.NO_ADDRESS)
    if compiled.error or missing:
        return _skip(row, Message.SkipReason.MISSING_DATA, compiled.error or ", ".join("{" + n + "}" for n in missing))
    # The same for every member of a zone and channel: computed once (`timing` is the cache).
    key = (zone.key, channel)
    if key not in timing:
        scheduled_at = quiet_hours_release(now, zone, channel)
        timing[key] = (scheduled_at, local_day_bounds(scheduled_at, zone))
    row["scheduled_at"], row["_day"] = timing[key]
    return row


def _dispatch(message_ids: list[int]) -> None:
    from campaigns.tasks import send_messages

    send_messages.delay(message_ids)


__all__ = [
    "BulkIssue",
    "BulkMessages",
    "IssuedVoucher",
    "VoucherPlan",
    "messages_enqueue_bulk",
    "messages_withdraw",
    "rows_insert",
    "voucher_codes_draw",
    "vouchers_issue_bulk",
    "vouchers_issue_planned",
    "vouchers_plan_bulk",
]
