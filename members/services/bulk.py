"""Set-based twins of the members app's single-row services, for imports of tens of thousands
of rows: new members, empty fields filled, cards, and opening balances. Each shares its rules
with the single-row service beside it (`members.py`, `ledger.py`) and writes in a few
statements per chunk instead of a few per row; tests run both on the same input and compare
the rows field by field. Other apps (the Excel import) call these; they never write the
members app's tables themselves.

Every service here runs in its own transaction (a savepoint inside the caller's) and refuses
before its first write: a refusal leaves nothing written. The values are expected clean (as
`members.phones.phone_normalise` and the model's validators leave them, which the import
checks cell by cell); what a batch can get wrong by itself (duplicates, a malformed card
number, a blank name) is checked here again, and the database's unique constraints are the
backstop against rows written meanwhile by someone else."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError, ValidationFailed
from loyalty_site.core.events import record_events_bulk
from loyalty_site.core.rows import rows_insert
from members.codes import MEMBER_CODE_LENGTH, REFERRAL_CODE_LENGTH, codes_generate
from members.errors import LedgerReferenceReused, MemberNotFound
from members.models import Card, LedgerEntry, LotMovement, Member, PointLot
from members.search import name_fold
from members.selectors import programme_settings_get, values_where_in
from members.services.ledger import (
    _entry,
    _occurred,
    _require_positive,
    _require_transacting,
    ledger_event,
    lot_terms,
    points_earn,
)
from members.services.members import (
    _CARD_NUMBER,
    _clean_email,
    _clean_name,
    member_changed_event,
    member_enrolled_event,
)

CHUNK = 5000
FILLABLE = ("name", "email", "birthday", "gender")
# The stored form of a phone (E.164, as `phone_normalise` leaves it): a cheap shape check, the
# full rule having been applied by the caller.
_E164_VN = re.compile(r"^\+84\d{8,10}$")


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _duplicates(values: list) -> list:
    seen: set = set()
    return sorted({value for value in values if value in seen or seen.add(value)}, key=str)


# --- Codes ------------------------------------------------------------------------------------


def member_codes_draw(*, count: int, length: int, field_name: str) -> list[str]:
    """`count` distinct codes drawn as enrolment draws one (`members.codes`), none already used
    in the member field `field_name` ("code" or "referral_code")."""
    if field_name not in ("code", "referral_code"):
        raise ValueError(f"not a member code field: {field_name!r}")
    codes: set[str] = set()
    while len(codes) < count:
        drawn = set(codes_generate(count - len(codes), length)) - codes
        drawn -= {taken for (taken,) in values_where_in(Member, (field_name,), field_name, list(drawn))}
        codes |= drawn
    return list(codes)


# --- Members ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewMember:
    """A member to enrol: the phone in its stored form (`phone_normalise`), the other values
    checked with the model's rules."""

    name: str
    phone: str
    email: str = ""
    birthday: datetime.date | None = None
    gender: str = ""


def members_create_bulk(
    *, members: Sequence[NewMember], channel: str, enrolled_at: datetime.datetime | None = None
) -> dict[str, int]:
    """Enrol `members` as `member_enrol` would (same name and email cleaning, codes drawn the
    same way) and return their ids by phone. Refused, with nothing written: ValidationFailed
    for a phone twice in the batch, a phone not in its stored form, a blank or too long name,
    an unknown channel or gender. A phone enrolled meanwhile: the database's IntegrityError."""
    if not members:
        return {}
    now = timezone.now()
    enrolled_at = enrolled_at or now
    errors: dict[str, list[str]] = {}
    phones = [member.phone for member in members]
    if duplicated := _duplicates(phones):
        errors["phone"] = [_("The same phone number is given twice: %(phones)s.") % {"phones": ", ".join(duplicated)}]
    if malformed := [phone for phone in phones if not _E164_VN.match(phone or "")]:
        errors.setdefault("phone", []).append(
            _("Not a stored phone number: %(phones)s.") % {"phones": ", ".join(map(str, malformed[:5]))}
        )
    if channel not in Member.Channel.values:
        errors["enrolment_channel"] = [_("Unknown enrolment channel.")]
    name_max = Member._meta.get_field("name").max_length
    genders = frozenset(Member.Gender.values)  # the property builds a new list at every use
    rows = []
    for member in members:
        name = _clean_name(member.name)
        if not name or len(name) > name_max:
            errors.setdefault("name", []).append(
                _("%(phone)s: a name of 1 to %(max)d characters is needed.") % {"phone": member.phone, "max": name_max}
            )
        if member.gender and member.gender not in genders:
            errors.setdefault("gender", []).append(_("%(phone)s: unknown gender.") % {"phone": member.phone})
        rows.append(
            {
                "name": name,
                "name_folded": name_fold(name),
                "phone": member.phone,
                "email": _clean_email(member.email),
                "birthday": member.birthday,
                "gender": member.gender or "",
                "enrolment_channel": channel,
                "enrolled_at": enrolled_at,
            }
        )
    if errors:
        raise ValidationFailed(errors=errors)
    codes = member_codes_draw(count=len(rows), length=MEMBER_CODE_LENGTH, field_name="code")
    referral_codes = member_codes_draw(count=len(rows), length=REFERRAL_CODE_LENGTH, field_name="referral_code")
    for row, code, referral_code in zip(rows, codes, referral_codes, strict=True):
        row["code"] = code
        row["referral_code"] = referral_code
    with transaction.atomic():
        rows_insert(Member, rows, now=now)
        ids = dict(values_where_in(Member, ("phone", "id"), "phone", phones))
        record_events_bulk(
            member_enrolled_event(
                Member(
                    pk=ids[row["phone"]],
                    code=row["code"],
                    enrolment_channel=channel,
                    enrolled_at=enrolled_at,
                )
            )
            for row in rows
        )
        return ids


def _fill_sql(rows: int) -> str:
    """UPDATE ... FROM a row source (id, name, email, birthday, gender) that only fills what is
    still empty. PostgreSQL reads the rows from five arrays (unnest: five parameters whatever
    the number of rows); SQLite from a VALUES list."""
    quote = connection.ops.quote_name
    table = quote(Member._meta.db_table)
    column = {name: quote(Member._meta.get_field(name).column) for name in FILLABLE}
    pk = quote(Member._meta.pk.column)
    updated_at = quote(Member._meta.get_field("updated_at").column)
    if connection.vendor == "postgresql":
        source = (
            "unnest(%s::bigint[], %s::text[], %s::text[], %s::date[], %s::text[], %s::text[]) "
            "AS v(id, name, email, birthday, gender, name_folded)"
        )
        ref = {
            "id": "v.id",
            "name": "v.name",
            "email": "v.email",
            "birthday": "v.birthday",
            "gender": "v.gender",
            "name_folded": "v.name_folded",
        }
    else:
        source = f"(VALUES {', '.join(['(%s, %s, %s, %s, %s, %s)'] * rows)}) AS v"
        ref = {
            "id": "v.column1",
            "name": "v.column2",
            "email": "v.column3",
            "birthday": "v.column4",
            "gender": "v.column5",
            "name_folded": "v.column6",
        }
    sets = [
        f"{column[name]} = CASE WHEN m.{column[name]} = '' AND {ref[name]} IS NOT NULL "
        f"THEN {ref[name]} ELSE m.{column[name]} END"
        for name in ("name", "email", "gender")
    ]
    # The folded name follows the name (members.search): filled in the same case.
    folded = quote(Member._meta.get_field("name_folded").column)
    sets.append(
        f"{folded} = CASE WHEN m.{column['name']} = '' AND {ref['name']} IS NOT NULL "
        f"THEN {ref['name_folded']} ELSE m.{folded} END"
    )
    sets.append(f"{column['birthday']} = COALESCE(m.{column['birthday']}, {ref['birthday']})")
    sets.append(f"{updated_at} = %s")
    # Identifiers come from the model's meta, quoted; every value is a parameter.
    return f"UPDATE {table} AS m SET {', '.join(sets)} FROM {source} WHERE m.{pk} = {ref['id']}"  # noqa: S608


def members_fill_empty_bulk(*, fills: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """For each (member id, {field: value}), set the fields (name, email, birthday, gender)
    that are still empty, in SQL: a field someone set since the caller looked stays as it is,
    and a value is never cleared. ValueError for another field (a caller's bug); refused with
    nothing written: ValidationFailed for a member twice or a value the model would refuse."""
    if not fills:
        return
    unknown = {name for _pk, values in fills for name in values} - set(FILLABLE)
    if unknown:
        raise ValueError(f"members_fill_empty_bulk cannot fill {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    if duplicated := _duplicates([pk for pk, _values in fills]):
        errors["member"] = [_("The same member is given twice: %(ids)s.") % {"ids": ", ".join(map(str, duplicated))}]
    name_max = Member._meta.get_field("name").max_length
    genders = frozenset(Member.Gender.values)
    cleaned: list[tuple[int, dict[str, Any]]] = []
    for pk, values in fills:
        values = dict(values)
        if "name" in values:
            values["name"] = _clean_name(values["name"])
            if len(values["name"]) > name_max:
                errors.setdefault("name", []).append(_("Member %(id)d: the name is too long.") % {"id": pk})
        if "email" in values:
            values["email"] = _clean_email(values["email"])
        if values.get("gender") and values["gender"] not in genders:
            errors.setdefault("gender", []).append(_("Member %(id)d: unknown gender.") % {"id": pk})
        cleaned.append((pk, values))
    if errors:
        raise ValidationFailed(errors=errors)
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        _fill_events(cleaned, now)
        for part in _chunks(cleaned, 20_000 if postgres else 2000):
            columns = (
                [pk for pk, _values in part],
                *([values.get(name) or None for _pk, values in part] for name in FILLABLE),
                [name_fold(values["name"]) if values.get("name") else None for _pk, values in part],
            )
            if postgres:
                cursor.execute(_fill_sql(len(part)), [now, *columns])
                continue
            params: list[Any] = [now]
            for pk, name, email, birthday, gender, folded in zip(*columns, strict=True):
                params += [pk, name, email, birthday.isoformat() if birthday else None, gender, folded]
            cursor.execute(_fill_sql(len(part)), params)


def _fill_events(cleaned: list[tuple[int, dict[str, Any]]], now: datetime.datetime) -> None:
    """`member.changed` for each member whose empty fields the fill will set (read just before
    the UPDATE, in the caller's transaction), naming the fields, never their values."""
    current = {
        pk: dict(zip(("code", *FILLABLE), values, strict=True))
        for pk, *values in values_where_in(Member, ("id", "code", *FILLABLE), "id", [pk for pk, _v in cleaned])
    }
    specs = []
    for pk, values in cleaned:
        row = current.get(pk)
        if row is None:
            continue
        filled = [name for name in FILLABLE if values.get(name) and not row[name]]
        if filled:
            specs.append(member_changed_event(Member(pk=pk, code=row["code"]), filled, at=now))
    record_events_bulk(specs)


# --- Cards ------------------------------------------------------------------------------------


def cards_create_bulk(*, cards: Sequence[tuple[int, str]], issued_at: datetime.datetime | None = None) -> int:
    """Issue a card to each (member id, card number): numbers in the form `card_issue` stores
    (`card_number_normalise`). Refused with nothing written: ValidationFailed for a malformed
    number or a number twice in the batch. A number taken meanwhile: the database's
    IntegrityError. Returns the number of cards."""
    if not cards:
        return 0
    errors: dict[str, list[str]] = {}
    numbers = [number for _pk, number in cards]
    if malformed := [number for number in numbers if not _CARD_NUMBER.match(number or "")]:
        errors["number"] = [
            _("A card number has 4 to 32 letters or digits: %(numbers)s.") % {"numbers": ", ".join(malformed[:5])}
        ]
    if duplicated := _duplicates(numbers):
        errors.setdefault("number", []).append(
            _("The same card number is given twice: %(numbers)s.") % {"numbers": ", ".join(duplicated)}
        )
    if errors:
        raise ValidationFailed(errors=errors)
    now = timezone.now()
    issued_at = issued_at or now
    with transaction.atomic():
        return rows_insert(
            Card, ({"member_id": pk, "number": number, "issued_at": issued_at} for pk, number in cards), now=now
        )


# --- Opening balances -------------------------------------------------------------------------


def opening_reference(member_id: int) -> str:
    """One opening balance per member, ever: the idempotency reference of its ledger entry."""
    return f"import:opening:{member_id}"


@dataclass(frozen=True, slots=True)
class OpeningBalance:
    """Points a member brings from a previous programme, earned on `earned_at` (their lot
    expires as it would have there)."""

    member_id: int
    points: int
    earned_at: datetime.datetime
    cause_reference: str = ""


@dataclass
class BulkCreditResult:
    credited: dict[int, int] = field(default_factory=dict)  # member id -> the new entry's id
    already: dict[int, int] = field(default_factory=dict)  # member id -> the entry posted before
    refused: dict[int, DomainError] = field(default_factory=dict)  # member id -> why (skip_refused)
    points_credited: int = 0


def points_credit_opening_bulk(
    *,
    openings: Sequence[OpeningBalance],
    reason: str = "",
    cause_kind: str = "import",
    created_by=None,
    skip_refused: bool = False,
) -> BulkCreditResult:
    """Credit each member's opening balance as `points_earn` would (kind earn, reference
    `opening_reference(member id)`, occurred at `earned_at`): the ledger entries, their lots
    and movements and the cached balances, a few statements per chunk of members instead of a
    locked posting each.

    Same invariants and refusals as `points_earn`: the members' rows are locked (no-key, in
    primary-key order); a reference already posted with the same points is a retry and posts
    nothing (`already`), with other points LedgerReferenceReused; a blocked or merged member is
    refused (MemberBlocked / MemberMerged), an unknown one MemberNotFound, invalid points or
    times ValidationFailed, a member twice in the batch ValidationFailed. By default the first
    refusal is raised and nothing is written; with `skip_refused` the refused members are
    returned in `refused` and the others credited. A member who owes points (a claw-back left
    a debt) is credited through `points_earn` itself, which pays the debt out of the new lot."""
    result = BulkCreditResult()
    if not openings:
        return result
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    for opening in openings:
        try:
            _require_positive(opening.points)
            _occurred(opening.earned_at, now)
        except ValidationFailed as exc:
            for name, messages in exc.errors.items():
                errors.setdefault(name, []).extend(f"{opening.member_id}: {message}" for message in messages)
    if duplicated := _duplicates([opening.member_id for opening in openings]):
        errors["member"] = [_("The same member is given twice: %(ids)s.") % {"ids": ", ".join(map(str, duplicated))}]
    if errors:
        raise ValidationFailed(errors=errors)
    programme = programme_settings_get()
    kind = LedgerEntry.Kind.EARN
    by_member = {opening.member_id: opening for opening in openings}
    with transaction.atomic():
        locked = _lock_many(sorted(by_member))
        posted = {
            reference: (member_id, entry_kind, points, pk)
            for reference, member_id, entry_kind, points, pk in values_where_in(
                LedgerEntry,
                ("reference", "member_id", "kind", "points", "id"),
                "reference",
                [opening_reference(member_id) for member_id in by_member],
            )
        }
        entries: list[LedgerEntry] = []
        owing: list[OpeningBalance] = []
        for member_id, opening in by_member.items():
            reference = opening_reference(member_id)
            try:
                member = locked.get(member_id)
                if member is None:
                    raise MemberNotFound(_("No member with id %(id)s.") % {"id": member_id})
                if reference in posted:
                    owner, entry_kind, points, pk = posted[reference]
                    if (owner, entry_kind, points) != (member_id, kind, opening.points):
                        raise LedgerReferenceReused(
                            _("The reference %(reference)s was already used for another posting.")
                            % {"reference": reference}
                        )
                    result.already[member_id] = pk
                    continue
                _require_transacting(member)
                if member.points_debt > 0:
                    owing.append(opening)
                    continue
                entries.append(
                    _entry(
                        member,
                        kind=kind,
                        points=opening.points,
                        reference=reference,
                        occurred_at=opening.earned_at,
                        cause_kind=cause_kind,
                        cause_reference=opening.cause_reference,
                        reason=reason,
                        created_by=created_by,
                    )
                )
            except DomainError as exc:
                if not skip_refused:
                    raise
                result.refused[member_id] = exc
        _post_credits(entries, programme)
        for entry in entries:
            result.credited[entry.member_id] = entry.pk
            result.points_credited += entry.points
        for opening in owing:
            entry = points_earn(
                member=locked[opening.member_id],
                points=opening.points,
                reference=opening_reference(opening.member_id),
                kind=kind,
                occurred_at=opening.earned_at,
                cause_kind=cause_kind,
                cause_reference=opening.cause_reference,
                reason=reason,
                created_by=created_by,
            )
            result.credited[opening.member_id] = entry.pk
            result.points_credited += entry.points
    return result


def _lock_many(member_ids: list[int]) -> dict[int, Member]:
    """Lock the members' rows in primary-key order, chunk after chunk, as `members_lock` does,
    loading only what a credit needs."""
    fields = ("pk", "status", "code", "points_balance", "points_debt")
    locked: dict[int, Member] = {}
    for part in _chunks(member_ids):
        rows = Member.objects.select_for_update(no_key=True).filter(pk__in=part).order_by("pk").values_list(*fields)
        for pk, status, code, balance, debt in rows:
            locked[pk] = Member(pk=pk, status=status, code=code, points_balance=balance, points_debt=debt)
    return locked


def _post_credits(entries: list[LedgerEntry], programme) -> None:
    """Insert the validated entries, a lot and its movement for each, and move the balances."""
    if not entries:
        return
    LedgerEntry.objects.bulk_create(entries, batch_size=CHUNK)
    lots = PointLot.objects.bulk_create(
        [
            PointLot(member_id=entry.member_id, entry_id=entry.pk, **lot_terms(programme=programme, entry=entry))
            for entry in entries
        ],
        batch_size=CHUNK,
    )
    now = timezone.now()
    rows_insert(
        LotMovement,
        ({"entry_id": lot.entry_id, "lot_id": lot.pk, "points": lot.points} for lot in lots),
        now=now,
    )
    _balances_add([(entry.member_id, entry.points) for entry in entries])
    record_events_bulk(ledger_event(entry) for entry in entries)


def _balances_add(amounts: list[tuple[int, int]]) -> None:
    """points_balance += points for each (member id, points), one statement per chunk."""
    quote = connection.ops.quote_name
    table = quote(Member._meta.db_table)
    balance = quote(Member._meta.get_field("points_balance").column)
    pk = quote(Member._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = (
                f"UPDATE {table} AS m SET {balance} = m.{balance} + v.points "  # noqa: S608 -- quoted names
                f"FROM unnest(%s::bigint[], %s::integer[]) AS v(id, points) WHERE m.{pk} = v.id"
            )
            for part in _chunks(amounts, 50_000):
                cursor.execute(sql, [[member_id for member_id, _p in part], [points for _m, points in part]])
            return
        sql = f"UPDATE {table} SET {balance} = {balance} + %s WHERE {pk} = %s"  # noqa: S608 -- quoted names
        cursor.executemany(sql, [(points, member_id) for member_id, points in amounts])


__all__ = [
    "BulkCreditResult",
    "NewMember",
    "OpeningBalance",
    "cards_create_bulk",
    "member_codes_draw",
    "members_create_bulk",
    "members_fill_empty_bulk",
    "opening_reference",
    "points_credit_opening_bulk",
]
