"""Static customer groups: create, add and remove members (by id, by record, by phone list).
Set-based and chunked, so an import of 100,000 members costs a few hundred queries, not
100,000."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.audiences.models import CustomerGroup, GroupMembership, RewardAudience, Segment
from loyalty_site.core.errors import ValidationFailed, clean_or_refuse
from members.models import Member
from members.phones import phone_or_none

CHUNK = 5000
NOTE_MAX = GroupMembership._meta.get_field("note").max_length
# Phone lists are pasted from spreadsheets and chats: one per line, or separated by commas or
# semicolons (not spaces: "0912 345 678" is one number).
_PHONE_SEPARATORS = re.compile(r"[\r\n,;\t]+")


def group_create(*, name: str, description: str = "", by=None) -> CustomerGroup:
    """A new, empty static group. A name already taken: ValidationFailed, nothing written."""
    group = CustomerGroup(name=" ".join((name or "").split()), description=description or "", created_by=by)
    clean_or_refuse(group)
    group.save()
    return group


def group_get_or_create(*, name: str, by=None) -> tuple[CustomerGroup, bool]:
    """The static group with this name (spaces tidied), created if missing: for imports that
    name their group (`--group NAME`)."""
    name = " ".join((name or "").split())
    existing = CustomerGroup.objects.filter(name=name).first()
    if existing is not None:
        return existing, False
    return group_create(name=name, by=by), True


def group_save(*, group: CustomerGroup, by=None) -> CustomerGroup:
    """Create or rename / describe a group (its fields already set)."""
    group.name = " ".join((group.name or "").split())
    if group.pk is None and by is not None:
        group.created_by = by
    clean_or_refuse(group)
    group.save()
    return group


def _ids_of(members, member_ids) -> list[int]:
    if members is not None and member_ids is not None:
        raise ValueError("pass members or member_ids, not both")
    if members is not None:
        if isinstance(members, QuerySet):
            return list(members.order_by().values_list("pk", flat=True))
        return [member.pk for member in members]
    if member_ids is None:
        return []
    if isinstance(member_ids, QuerySet):
        return list(member_ids)
    return [int(member_id) for member_id in member_ids]


def _resolve(ids: list[int]) -> tuple[list[int], list[int]]:
    """Live member ids for `ids` (a merged member stands for its survivor), in order and without
    duplicates, and the ids that name no member."""
    unique = list(dict.fromkeys(ids))
    target: dict[int, int] = {}
    missing: list[int] = []
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        found = dict(Member.objects.filter(pk__in=chunk).values_list("pk", "merged_into_id"))
        for member_id in chunk:
            if member_id in found:
                target[member_id] = found[member_id] or member_id
            else:
                missing.append(member_id)
    # Survivors not loaded yet (merge chains are rare and short).
    pending = {t for t in target.values() if t not in target}
    for _round in range(10):
        if not pending:
            break
        rows = dict(Member.objects.filter(pk__in=pending).values_list("pk", "merged_into_id"))
        for pk, merged_into in rows.items():
            target[pk] = merged_into or pk
        pending = {t for t in rows.values() if t and t not in target}

    def survivor(pk: int) -> int:
        for _step in range(10):
            following = target.get(pk, pk)
            if following == pk:
                break
            pk = following
        return pk

    return list(dict.fromkeys(survivor(i) for i in unique if i in target)), missing


def group_add_members(
    *,
    group: CustomerGroup,
    source: str,
    members: Iterable[Member] | QuerySet | None = None,
    member_ids: Iterable[int] | QuerySet | None = None,
    by=None,
    note: str = "",
) -> int:
    """Put members into a static group (pass `members` or `member_ids`). A member already in the
    group is left as it is (its first addition is kept); a merged member is added as its
    survivor. Unknown ids refuse the whole call, writing nothing. Returns how many members were
    added. One transaction; chunked."""
    if source not in GroupMembership.Source.values:
        raise ValidationFailed(errors={"source": [_("Unknown source.")]})
    if connection.vendor == "postgresql" and isinstance(member_ids, list | tuple) and members is None:
        # The common case of a big list (an import's 100,000 live members): one INSERT ... SELECT
        # over an id array, ON CONFLICT DO NOTHING for those already in; the same result as the
        # chunked path below, which any unknown or merged id takes instead.
        given = list(dict.fromkeys(int(member_id) for member_id in member_ids))
        if _all_live(given):
            return _insert_live(group, given, source=source, by=by, note=note)
    ids, missing = _resolve(_ids_of(members, member_ids))
    if missing:
        shown = ", ".join(str(m) for m in missing[:20])
        raise ValidationFailed(
            _("These member ids do not exist: %(ids)s.") % {"ids": shown},
            errors={"member_ids": [_("These member ids do not exist: %(ids)s.") % {"ids": shown}]},
        )
    now = timezone.now()
    added = 0
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            present = set(
                GroupMembership.objects.filter(group=group, member_id__in=chunk).values_list("member_id", flat=True)
            )
            rows = [
                GroupMembership(
                    group=group, member_id=member_id, added_at=now, added_by=by, source=source, note=note[:NOTE_MAX]
                )
                for member_id in chunk
                if member_id not in present
            ]
            GroupMembership.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
            added += len(rows)
    return added


def _all_live(member_ids: list[int]) -> bool:
    """Whether every id names a member who is not merged into another (PostgreSQL)."""
    quote = connection.ops.quote_name
    meta = Member._meta
    sql = (
        f"SELECT 1 FROM unnest(%s::bigint[]) AS v(id) WHERE NOT EXISTS (SELECT 1 FROM {quote(meta.db_table)} "  # noqa: S608 -- quoted names
        f"AS m WHERE m.{quote(meta.pk.column)} = v.id AND m.{quote(meta.get_field('merged_into').column)} IS NULL) "
        "LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [member_ids])
        return cursor.fetchone() is None


def _insert_live(group: CustomerGroup, member_ids: list[int], *, source: str, by, note: str) -> int:
    """The memberships of live members, in the order given, those already in the group left as
    they are: one statement (PostgreSQL). Returns how many were added."""
    quote = connection.ops.quote_name
    meta = GroupMembership._meta
    columns = ", ".join(
        quote(meta.get_field(name).column) for name in ("group", "member", "added_at", "added_by", "source", "note")
    )
    unique = ", ".join(quote(meta.get_field(name).column) for name in ("group", "member"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 -- quoted names, values as parameters
        "SELECT %s, v.id, %s, %s, %s, %s FROM unnest(%s::bigint[]) WITH ORDINALITY AS v(id, n) ORDER BY v.n "
        f"ON CONFLICT ({unique}) DO NOTHING"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [group.pk, timezone.now(), getattr(by, "pk", None), source, note[:NOTE_MAX], member_ids])
        return cursor.rowcount


def group_remove_members(*, group: CustomerGroup, member_ids: Iterable[int]) -> int:
    """Take members out of a static group; returns how many were in it."""
    ids = [int(member_id) for member_id in member_ids]
    removed = 0
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            count, _by_model = GroupMembership.objects.filter(
                group=group, member_id__in=ids[start : start + CHUNK]
            ).delete()
            removed += count
    return removed


@dataclass
class PhoneListResult:
    added: int = 0
    already_in: int = 0
    not_found: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def phones_split(text: str) -> list[str]:
    return [part.strip() for part in _PHONE_SEPARATORS.split(text or "") if part.strip()]


def group_add_members_by_phones(
    *, group: CustomerGroup, phones: str | Iterable[str], by=None, source: str = GroupMembership.Source.PHONE_LIST
) -> PhoneListResult:
    """Add the members with these phone numbers (any common Vietnamese form; a text is split
    on lines, commas and semicolons). Numbers that are not phones, or that no member has, are
    reported back and skipped; the rest are added."""
    values = phones_split(phones) if isinstance(phones, str) else [str(p).strip() for p in phones if str(p).strip()]
    result = PhoneListResult()
    normalised: dict[str, str] = {}
    for value in values:
        phone = phone_or_none(value)
        if phone is None:
            result.invalid.append(value)
        else:
            normalised.setdefault(phone, value)
    found: dict[str, int] = {}
    phones_list = list(normalised)
    for start in range(0, len(phones_list), CHUNK):
        found.update(Member.objects.filter(phone__in=phones_list[start : start + CHUNK]).values_list("phone", "pk"))
    result.not_found = [typed for phone, typed in normalised.items() if phone not in found]
    ids = list(found.values())
    result.added = group_add_members(group=group, member_ids=ids, source=source, by=by) if ids else 0
    result.already_in = len(set(ids)) - result.added
    return result


def reward_audience_set(
    *, reward, groups: Iterable[CustomerGroup] = (), segments: Iterable[Segment] = ()
) -> list[RewardAudience]:
    """Keep `reward` (a `vouchers.Reward`) for exactly these customer groups and segments (none of
    either: open to everyone again). Repeats are dropped; the links not wanted any more are
    deleted and the missing ones added, in one transaction."""
    group_ids = {group.pk for group in groups}
    segment_ids = {segment.pk for segment in segments}
    with transaction.atomic():
        current = list(RewardAudience.objects.select_for_update().filter(reward_id=reward.pk))
        stale = [
            link.pk
            for link in current
            if (link.group_id is not None and link.group_id not in group_ids)
            or (link.segment_id is not None and link.segment_id not in segment_ids)
        ]
        if stale:
            RewardAudience.objects.filter(pk__in=stale).delete()
        have_groups = {link.group_id for link in current if link.group_id is not None}
        have_segments = {link.segment_id for link in current if link.segment_id is not None}
        RewardAudience.objects.bulk_create(
            [RewardAudience(reward_id=reward.pk, group_id=pk) for pk in sorted(group_ids - have_groups)]
            + [RewardAudience(reward_id=reward.pk, segment_id=pk) for pk in sorted(segment_ids - have_segments)]
        )
        return list(RewardAudience.objects.filter(reward_id=reward.pk).order_by("pk"))
