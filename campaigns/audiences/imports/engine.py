"""The set-based import engine: plan every row against the database, then write all of it in
one transaction, or nothing.

Upsert by phone, the rules:
- a phone not enrolled yet: a new member (enrolment channel "import"), who needs a name;
- an enrolled phone (a merged record stands for its survivor): the member's EMPTY fields are
  filled from the file (name, email, birthday, gender; a card when the member has none; an
  opening balance when none was imported before). A blank cell never clears anything, and a
  value that differs from a non-empty field does NOT overwrite it: the row is "unchanged" (or
  "updated" for the fields it did fill) and the difference is listed in the report, sheet
  "Differences", for a person to decide. Why: a list from a shop's old system is older and less
  trusted than what the member or a cashier entered, and an import must never silently
  rewrite someone's data;
- errors: a cell that cannot be read (named by Excel row and column), the same phone (or card
  number, or member) twice in the file -- all occurrences, found before anything is written --,
  a card number another member holds, a new member without a name, points for a blocked member.
  By default a file with any error writes nothing; with `skip_invalid` the valid rows are
  imported and the others reported.

Writes: none of its own. The members app's set-based services (`members.services.bulk`) write
the new members and their cards (codes drawn as enrolment draws them, checked unused), fill
empty fields (one UPDATE ... FROM per chunk whose SQL re-checks that each field is still
empty, so a change made meanwhile is never overwritten) and credit opening balances (the
ledger's rules, a few statements per chunk: entries, lots, cached balances), one per member
with the reference `import:opening:<member id>` so importing the file again credits nothing
twice, back-dated to the day they were earned so that the lot expires when it would have in
the old system. The customer group is written by the group services."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.audiences.imports import headers as h
from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.imports.limits import limit
from campaigns.audiences.imports.normalise import ParsedRow, RowContext, RowError, display, row_parse
from campaigns.audiences.imports.reader import sheet_open
from campaigns.audiences.imports.safety import workbook_check
from members.models import Card, LedgerEntry, Member
from members.phones import phone_national
from members.selectors import programme_settings_get, programme_zone, values_where_in
from members.services import (
    NewMember,
    OpeningBalance,
    cards_create_bulk,
    lot_expires_at,
    members_create_bulk,
    members_fill_empty_bulk,
    opening_reference,
    points_credit_opening_bulk,
)

NEW, UPDATED, UNCHANGED, ERROR = "new", "updated", "unchanged", "error"
FILLABLE = (h.NAME, h.EMAIL, h.BIRTHDAY, h.GENDER)
SAMPLE_PER_STATUS = 50
Progress = Callable[[int, str], None]


@dataclass
class ImportOptions:
    skip_invalid: bool = False
    dry_run: bool = False
    group_name: str = ""
    created_by: Any = None
    import_id: int | None = None
    file_name: str = ""


@dataclass
class Difference:
    """A file value that differs from the member's non-empty value, which was kept."""

    row: int
    phone: str
    column: str
    kept: str
    in_file: str


@dataclass
class RowOutcome:
    row: int
    status: str
    phone: str
    name: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "status": self.status, "phone": self.phone, "name": self.name, "notes": self.notes}


@dataclass
class ImportResult:
    rows_total: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    points_credited: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_rows: set[int] = field(default_factory=set)
    differences: list[Difference] = field(default_factory=list)
    sample: list[RowOutcome] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    written: bool = False

    @property
    def error_count(self) -> int:
        return len(self.error_rows)

    @property
    def rejected(self) -> bool:
        return bool(self.error_rows) and not self.written

    def sample_dicts(self) -> list[dict[str, Any]]:
        return [outcome.as_dict() for outcome in self.sample]


@dataclass
class _Plan:
    """What the writes will do, row by row."""

    new: list[ParsedRow] = field(default_factory=list)
    fills: list[tuple[int, ParsedRow, dict[str, Any]]] = field(default_factory=list)
    cards: list[tuple[int | None, ParsedRow]] = field(default_factory=list)  # member id None: a new member
    balances: list[tuple[int | None, ParsedRow]] = field(default_factory=list)
    members: list[tuple[int | None, ParsedRow]] = field(default_factory=list)  # every valid row


class _Sampler:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.rows: list[RowOutcome] = []

    def add(self, outcome: RowOutcome) -> None:
        if self.counts_in(outcome.status):
            self.rows.append(outcome)

    def counts_in(self, status: str) -> bool:
        """Count one row of `status`; whether it is one of the rows shown (build its outcome
        only then: 100,000 outcomes nobody sees cost a noticeable part of the planning)."""
        self.counts[status] += 1
        return self.counts[status] <= SAMPLE_PER_STATUS


def _noop(percent: int, stage: str) -> None:
    return None


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=programme_zone())


# --- Reading ----------------------------------------------------------------------------------


def _read(fileobj: IO[bytes], result: ImportResult, progress: Progress) -> list[ParsedRow]:
    workbook_check(fileobj)
    programme = programme_settings_get()
    today = timezone.localtime(timezone.now(), programme_zone()).date()

    def expires_on(day: datetime.date) -> datetime.datetime | None:
        return lot_expires_at(programme=programme, earned_at=_local_midnight(day))

    rows: list[ParsedRow] = []
    with sheet_open(fileobj, max_rows=limit("MEMBER_IMPORT_MAX_ROWS")) as sheet:
        result.columns = {name: sheet.column_label(name) for name in sheet.columns}
        result.ignored_columns = sheet.ignored
        context = RowContext(column_label=sheet.column_label, epoch=sheet.epoch, today=today, expires_on=expires_on)
        for count, (row_number, values) in enumerate(sheet.rows, start=1):
            rows.append(row_parse(row_number, values, context))
            if count % 2000 == 0:
                progress(min(59, int(60 * sheet.read_fraction())), _("Reading the file"))
        label = sheet.column_label
    result.rows_total = len(rows)
    if not rows:
        raise ImportRefused(_("The file has a header row but no customers below it."))
    _flag_duplicates(rows, label)
    return rows


def _flag_duplicates(rows: list[ParsedRow], label: Callable[[str], str]) -> None:
    """The same phone (or card number) on several rows: every one of them is an error, so
    nothing ambiguous is imported, and each names the others."""
    for name, message in (
        (h.PHONE, _("The same phone number is also on row(s) %(rows)s.")),
        (h.CARD_NUMBER, _("The same card number is also on row(s) %(rows)s.")),
    ):
        values = [getattr(parsed, name) for parsed in rows]
        counts = Counter(values)
        counts.pop("", None)
        if len(counts) == sum(counts.values()):
            continue  # no value twice (the usual case): no list of rows per value to build
        seen: dict[str, list[ParsedRow]] = defaultdict(list)
        for parsed, value in zip(rows, values, strict=True):
            if counts.get(value, 0) > 1:
                seen[value].append(parsed)
        for value, same in seen.items():
            for parsed in same:
                others = ", ".join(str(other.row) for other in same if other is not parsed)
                parsed.errors.append(RowError(parsed.row, label(name), value, message % {"rows": others}))


# --- Planning ---------------------------------------------------------------------------------


def _existing_members(phones: list[str], chunk: int) -> dict[str, dict[str, Any]]:
    fields = ("id", "phone", "name", "email", "birthday", "gender", "status", "merged_into", "code")
    keys = ("pk", "phone", "name", "email", "birthday", "gender", "status", "merged_into_id", "code")
    found: dict[str, dict[str, Any]] = {}
    for row in values_where_in(Member, fields, "phone", phones, chunk=chunk):
        values = dict(zip(keys, row, strict=True))
        found[values["phone"]] = values
    # A merged record's phone leads to its survivor (as member_lookup does).
    pending = {phone: values["merged_into_id"] for phone, values in found.items() if values["merged_into_id"]}
    for _depth in range(10):
        if not pending:
            break
        survivor_ids = list(set(pending.values()))
        survivors = {
            row[0]: dict(zip(keys, row, strict=True))
            for row in values_where_in(Member, fields, "id", survivor_ids, chunk=chunk)
        }
        next_pending = {}
        for phone, survivor_id in pending.items():
            survivor = survivors[survivor_id]
            found[phone] = survivor
            if survivor["merged_into_id"]:
                next_pending[phone] = survivor["merged_into_id"]
        pending = next_pending
    return found


def _plan(rows: list[ParsedRow], result: ImportResult, options: ImportOptions, label: Callable[[str], str]) -> _Plan:
    chunk = limit("MEMBER_IMPORT_CHUNK_ROWS")
    valid = [parsed for parsed in rows if not parsed.errors]
    existing = _existing_members([parsed.phone for parsed in valid], chunk)

    card_numbers = [parsed.card_number for parsed in valid if parsed.card_number]
    card_owner: dict[str, int] = {}
    card_owner.update(values_where_in(Card, ("number", "member"), "number", card_numbers, chunk=chunk))
    member_ids = sorted({values["pk"] for values in existing.values()})
    with_card: set[int] = set()
    opening: dict[int, int] = {}
    with_card.update(
        member_id for (member_id,) in values_where_in(Card, ("member",), "member", member_ids, chunk=chunk)
    )
    references = [opening_reference(pk) for pk in member_ids]
    for reference, points in values_where_in(
        LedgerEntry, ("reference", "points"), "reference", references, chunk=chunk
    ):
        opening[int(reference.rsplit(":", 1)[1])] = points

    plan = _Plan()
    sampler = _Sampler()
    first_row_of_member: dict[int, int] = {}
    for parsed in rows:
        if parsed.errors:
            continue
        member = existing.get(parsed.phone)
        errors: list[RowError] = []
        notes: list[str] = []

        def fail(name: str, value: Any, message: str, parsed=parsed, errors=errors) -> None:
            errors.append(RowError(parsed.row, label(name) if name else "", display(value), message))

        if parsed.card_number:
            owner = card_owner.get(parsed.card_number)
            if owner is not None and (member is None or owner != member["pk"]):
                fail(h.CARD_NUMBER, parsed.card_number, _("This card number belongs to another member."))
        if member is None:
            if not parsed.name:
                fail(h.NAME, "", _("A new member needs a name."))
            if errors:
                parsed.errors.extend(errors)
                continue
            plan.new.append(parsed)
            plan.members.append((None, parsed))
            if parsed.card_number:
                plan.cards.append((None, parsed))
            if parsed.opening_points:
                plan.balances.append((None, parsed))
                notes.append(_("%(points)d opening points") % {"points": parsed.opening_points})
            if sampler.counts_in(NEW):
                sampler.rows.append(RowOutcome(parsed.row, NEW, phone_national(parsed.phone), parsed.name, notes))
            continue

        pk = member["pk"]
        if pk in first_row_of_member:
            fail(
                h.PHONE,
                parsed.phone,
                _("This is the same member (%(code)s) as on row %(row)d.")
                % {"code": member["code"], "row": first_row_of_member[pk]},
            )
        first_row_of_member.setdefault(pk, parsed.row)
        fills: dict[str, Any] = {}
        differences: list[Difference] = []
        for name in FILLABLE:
            value = getattr(parsed, name)
            if not value:
                continue
            current = member[name]
            if not current:
                fills[name] = value
            elif current != value:
                differences.append(
                    Difference(parsed.row, phone_national(parsed.phone), label(name), display(current), display(value))
                )
        add_card = False
        if parsed.card_number and card_owner.get(parsed.card_number) != pk:
            if pk in with_card:
                differences.append(
                    Difference(
                        parsed.row,
                        phone_national(parsed.phone),
                        label(h.CARD_NUMBER),
                        _("(the member has a card already)"),
                        parsed.card_number,
                    )
                )
            else:
                add_card = True
        credit = False
        if parsed.opening_points:
            if pk in opening:
                if opening[pk] != parsed.opening_points:
                    differences.append(
                        Difference(
                            parsed.row,
                            phone_national(parsed.phone),
                            label(h.OPENING_POINTS),
                            _("%(points)d (imported before)") % {"points": opening[pk]},
                            str(parsed.opening_points),
                        )
                    )
            elif member["status"] != Member.Status.ACTIVE:
                fail(
                    h.OPENING_POINTS,
                    parsed.opening_points,
                    _("Member %(code)s is blocked: points cannot be credited.") % {"code": member["code"]},
                )
            else:
                credit = True
        if errors:
            parsed.errors.extend(errors)
            continue
        plan.members.append((pk, parsed))
        if fills:
            plan.fills.append((pk, parsed, fills))
            notes.append(_("filled: %(fields)s") % {"fields": ", ".join(label(name) for name in fills)})
        if add_card:
            plan.cards.append((pk, parsed))
            notes.append(_("card %(number)s added") % {"number": parsed.card_number})
        if credit:
            plan.balances.append((pk, parsed))
            notes.append(_("%(points)d opening points") % {"points": parsed.opening_points})
        for difference in differences:
            notes.append(
                _("kept %(column)s '%(kept)s' (file: '%(in_file)s')")
                % {"column": difference.column, "kept": difference.kept, "in_file": difference.in_file}
            )
        result.differences.extend(differences)
        result.conflicts += bool(differences)
        status = UPDATED if (fills or add_card or credit) else UNCHANGED
        if sampler.counts_in(status):
            sampler.rows.append(
                RowOutcome(parsed.row, status, phone_national(parsed.phone), parsed.name or member["name"], notes)
            )

    _collect_errors(rows, result, sampler)
    result.new = sampler.counts[NEW]
    result.updated = sampler.counts[UPDATED]
    result.unchanged = sampler.counts[UNCHANGED]
    result.sample = sorted(sampler.rows, key=lambda outcome: outcome.row)
    return plan


def _collect_errors(rows: list[ParsedRow], result: ImportResult, sampler: _Sampler) -> None:
    for parsed in rows:
        if parsed.errors:
            result.errors.extend(parsed.errors)
            result.error_rows.add(parsed.row)
            sampler.add(
                RowOutcome(
                    parsed.row,
                    ERROR,
                    phone_national(parsed.phone) if parsed.phone else "",
                    parsed.name,
                    [error.message for error in parsed.errors],
                )
            )


# --- Writing ---------------------------------------------------------------------------------
# Every write to the members app's tables goes through its set-based services
# (`members.services.bulk`): this module plans, they write.


def _apply(plan: _Plan, result: ImportResult, options: ImportOptions, progress: Progress) -> None:
    now = timezone.now()
    progress(70, _("Writing new members"))
    created = members_create_bulk(
        members=[
            NewMember(
                name=parsed.name,
                phone=parsed.phone,
                email=parsed.email,
                birthday=parsed.birthday,
                gender=parsed.gender,
            )
            for parsed in plan.new
        ],
        channel=Member.Channel.IMPORT,
        enrolled_at=now,
    )
    progress(80, _("Updating members"))
    members_fill_empty_bulk(fills=[(pk, fills) for pk, _parsed, fills in plan.fills])
    cards_create_bulk(
        cards=[(pk if pk is not None else created[parsed.phone], parsed.card_number) for pk, parsed in plan.cards],
        issued_at=now,
    )

    progress(85, _("Crediting opening balances"))
    cause_reference = f"member-import:{options.import_id}" if options.import_id else "member-import"
    row_of: dict[int, tuple[int | None, ParsedRow]] = {}
    openings = []
    for pk, parsed in plan.balances:
        member_id = pk if pk is not None else created[parsed.phone]
        row_of[member_id] = (pk, parsed)
        openings.append(
            OpeningBalance(
                member_id=member_id,
                points=parsed.opening_points,
                earned_at=_local_midnight(parsed.points_earned_on),
                cause_reference=f"{cause_reference}:row:{parsed.row}",
            )
        )
    credit = points_credit_opening_bulk(
        openings=openings,
        reason=_("Opening balance from a previous loyalty programme"),
        created_by=options.created_by,
        skip_refused=True,
    )
    for member_id, exc in credit.refused.items():
        # Refused under the lock although the plan allowed it (the member was blocked
        # meanwhile): a row error like any other.
        pk, parsed = row_of[member_id]
        result.errors.append(RowError(parsed.row, "", "", str(exc.detail)))
        result.error_rows.add(parsed.row)
        result.updated -= pk is not None
        result.new -= pk is None
    result.points_credited += credit.points_credited
    if result.error_rows and not options.skip_invalid:
        raise _RolledBack
    result.member_ids = [pk if pk is not None else created[parsed.phone] for pk, parsed in plan.members]
    if options.group_name:
        progress(95, _("Adding the members to the group"))
        _group_add(options, result.member_ids)


class _RolledBack(Exception):
    pass


def _group_add(options: ImportOptions, member_ids: list[int]) -> None:
    from campaigns.audiences.imports.groups import import_group_add

    import_group_add(
        group_name=options.group_name,
        member_ids=member_ids,
        added_by=options.created_by,
        note=options.file_name,
    )


# --- The entry point --------------------------------------------------------------------------


def members_import(
    fileobj: IO[bytes],
    *,
    options: ImportOptions,
    progress: Progress = _noop,
    before_write: Callable[[], bool] | None = None,
    after_write: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Check the file and, unless it is a dry run or has errors (without `skip_invalid`),
    import it in one transaction. ImportRefused when the whole file cannot be imported;
    otherwise the result says what each row did (or would do). `before_write`, called inside
    the write transaction, may return False to write nothing (the caller found the import was
    done meanwhile by another worker); `after_write`, called last inside it, lets the caller
    record the outcome in the same transaction as the data."""
    result = ImportResult()
    progress(1, _("Reading the file"))
    rows = _read(fileobj, result, progress)
    progress(60, _("Checking the rows against the members"))
    label = _label_from(result)
    if options.group_name:
        from campaigns.audiences.imports.groups import import_group_check

        import_group_check(group_name=options.group_name)
    plan = _plan(rows, result, options, label)
    if options.dry_run or (result.error_rows and not options.skip_invalid):
        return result
    try:
        with transaction.atomic():
            if before_write is not None and not before_write():
                return result
            _apply(plan, result, options, progress)
            result.written = True
            if after_write is not None:
                after_write(result)
    except _RolledBack:
        result.written = False
        return result
    except IntegrityError:
        raise ImportRefused(
            _(
                "The member list changed while the file was being imported (a phone or card number was "
                "enrolled meanwhile). Nothing was imported: run the import again."
            )
        ) from None
    result.written = True
    progress(100, _("Done"))
    return result


def _label_from(result: ImportResult) -> Callable[[str], str]:
    def label(name: str) -> str:
        return result.columns.get(name, h.TEMPLATE_HEADERS.get(name, name))

    return label
