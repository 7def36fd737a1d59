"""The operator console for members and points. Every write goes through `members.services`;
the ledger, the lots and the merge records are read-only here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from loyalty_site.core.admin import (
    FormattedNumbersMixin,
    LargeTableAdminMixin,
    ReadOnlyModelAdmin,
    ReadOnlyTabularInline,
    refusal_onto_form,
    refusal_text,
)
from loyalty_site.core.errors import DomainError
from loyalty_site.core.formats import format_vnd
from loyalty_site.core.importexport.admin import RecordedExportMixin
from loyalty_site.core.models import copy_saved
from loyalty_site.core.money import points_to_money
from loyalty_site.core.scoping import StaffScopedAdminMixin
from members.forms import (
    AdjustPointsForm,
    AdjustStoreCreditForm,
    CardAddForm,
    MemberAdminForm,
    MergeMembersForm,
    ReplaceCardForm,
)
from members.models import (
    Card,
    ConsentChange,
    LedgerEntry,
    LotMovement,
    Member,
    MemberMerge,
    PointLot,
    PointsAdjustment,
    ProgrammeSettings,
    StoreCreditEntry,
)
from members.phones import phone_national
from members.resources import LedgerEntryResource
from members.selectors import (
    ledger_entries_recent,
    member_consent_changes,
    member_ids_search,
    member_pending_points,
    member_points_expiring,
    member_search,
    member_spendable_points,
    programme_settings_get,
)
from members.services import (
    card_deactivate,
    card_issue,
    card_replace,
    member_block,
    member_consent_set,
    member_enrol,
    member_merge,
    member_review_clear,
    member_unblock,
    member_update,
    points_adjustment_approve,
    points_adjustment_reject,
    points_adjustment_request,
    programme_settings_update,
    store_credit_adjust,
)
from members.services.members import UPDATABLE_FIELDS

EXPIRING_WITHIN_DAYS = 30
RECENT_ENTRIES = 10
CONSENT_CHANGES_SHOWN = 100


class MemberSearchMixin:
    """The search of a list of records that belong to a member (sales, ledger entries, lots,
    vouchers...): the member found the way the member list finds them (`member_search`: a phone
    in any form or its last digits, a code, a card, a name with or without accents; at most 500
    members, newest first), or the record's own identifiers typed exactly
    (`exact_search_fields`). Each is an index lookup, where the default search (`icontains`
    over joined columns) reads the whole table. `search_fields` stays set: it shows the box."""

    member_search_field = "member"
    exact_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        found = Q(**{f"{self.member_search_field}__in": member_ids_search(term=term)})
        for field_name in self.exact_search_fields:
            found |= Q(**{field_name: term})
        return queryset.filter(found), False


# --- Programme settings -----------------------------------------------------------------------


@admin.register(ProgrammeSettings)
class ProgrammeSettingsAdmin(FormattedNumbersMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "point_value", "rounding_mode", "expiry_policy", "pending_days", "clawback_policy"]
    list_filter: list = []
    search_fields: list = []
    ordering = ["pk"]
    list_select_related = ["updated_by"]
    autocomplete_fields: list = []
    readonly_fields = ["updated_at", "updated_by"]
    fieldsets = [
        (_("Value of a point"), {"fields": ["point_value", "rounding_mode"]}),
        (_("Expiry"), {"fields": ["expiry_policy", "expiry_months", "expiry_years"]}),
        (
            _("Earning and refunds"),
            {"fields": ["pending_days", "backdating_limit_days", "clawback_policy"]},
        ),
        (_("Manual adjustments by staff"), {"fields": ["adjustment_max_points", "adjustment_daily_points"]}),
        (
            _("Proof that the member is present"),
            {"fields": ["presence_proof", "presence_free_points", "presence_free_store_credit"]},
        ),
        (_("Paying with points"), {"fields": ["redeem_max_percent", "redeem_min_points"]}),
        (_("History"), {"fields": ["updated_at", "updated_by"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list is the row.
        programme = programme_settings_get(fresh=True)
        return HttpResponseRedirect(reverse("admin:members_programmesettings_change", args=[programme.pk]))

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        saved = programme_settings_update(data=data, updated_by=request.user)
        copy_saved(obj, saved)


# --- Members ----------------------------------------------------------------------------------


class BirthdayMonthFilter(admin.SimpleListFilter):
    title = _("birthday month")
    parameter_name = "birthday_month"

    def lookups(self, request, model_admin):
        return [("current", _("This month")), *[(str(number), name) for number, name in MONTHS.items()]]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "current":
            return queryset.filter(birthday__month=timezone.localdate().month)
        if value and value.isdigit() and 1 <= int(value) <= 12:
            return queryset.filter(birthday__month=int(value))
        return queryset


class CardInline(admin.TabularInline):
    """A member's cards, read-only (a handful per member): issue and replace them from the
    card pages, which go through the card services."""

    model = Card
    fk_name = "member"
    fields = ["number", "is_active", "issued_at", "deactivated_at", "deactivation_reason", "replaced_by"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["-issued_at"]

    def has_add_permission(self, request, obj=None):
        return False


# The base of the member page: `backoffice` composes it with the tiers, vouchers and campaigns
# and registers it (once); this app cannot see those floors.
class MemberAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, FormattedNumbersMixin, admin.ModelAdmin):
    form = MemberAdminForm
    list_display = [
        "code",
        "name",
        "phone_display",
        "status",
        "home_store",
        "points_balance",
        "birthday",
        "enrolled_at",
        "needs_review",
    ]
    list_filter = [
        "status",
        "home_store",
        BirthdayMonthFilter,
        ("enrolled_at", admin.DateFieldListFilter),
        "enrolment_channel",
        "needs_review",
    ]
    search_fields = ["name", "phone", "code", "=cards__number", "email"]
    ordering = ["-enrolled_at", "-pk"]
    list_select_related = ["home_store"]
    autocomplete_fields = ["home_store"]
    inlines = [CardInline]
    actions = ["block_members", "unblock_members", "clear_review", "merge_members"]
    readonly_fields = [
        "code",
        "referral_code",
        "referred_by",
        "enrolled_at",
        "enrolment_channel",
        "status",
        "status_changed_at",
        "status_reason",
        "merged_into",
        "needs_review",
        "review_note",
        "consent_times",
        "consent_history",
        "points_balance",
        "points_available",
        "points_pending",
        "points_expiring",
        "points_debt",
        "points_value",
        "latest_entries",
        "store_credit_balance",
        "store_credit_entries",
        "audit_trail",
    ]
    add_fieldsets = [
        (None, {"fields": ["name", "phone", "email", "birthday", "gender", "home_store"]}),
        (_("Card and referral"), {"fields": ["card_number", "referral_code"]}),
        (_("Consent"), {"fields": ["consent_sms", "consent_email", "consent_zalo", "consent_push"]}),
    ]
    change_fieldsets = [
        (
            None,
            {"fields": ["code", "name", "phone", "email", "birthday", "gender", "home_store", "change_reason"]},
        ),
        (
            _("Points"),
            {
                "fields": [
                    "points_balance",
                    "points_available",
                    "points_pending",
                    "points_expiring",
                    "points_debt",
                    "points_value",
                    "latest_entries",
                ]
            },
        ),
        (_("Store credit"), {"fields": ["store_credit_balance", "store_credit_entries"]}),
        (
            _("Consent"),
            {
                "fields": [
                    "consent_sms",
                    "consent_email",
                    "consent_zalo",
                    "consent_push",
                    "consent_times",
                    "consent_history",
                ]
            },
        ),
        (
            _("Membership"),
            {
                "fields": [
                    "enrolled_at",
                    "enrolment_channel",
                    "referral_code",
                    "referred_by",
                    "status",
                    "status_changed_at",
                    "status_reason",
                    "merged_into",
                    "needs_review",
                    "review_note",
                    "audit_trail",
                ]
            },
        ),
    ]

    def get_search_results(self, request, queryset, search_term):
        # The way staff search (members.search), each kind of term by its own index: the default
        # `icontains` over name, phone, code, cards and email reads every member.
        return member_search(term=search_term, queryset=queryset), False

    def get_fieldsets(self, request, obj=None):
        return self.change_fieldsets if obj is not None else self.add_fieldsets

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == Member.Status.MERGED:
            return [*self.readonly_fields, "name", "phone", "email", "birthday", "gender", "home_store"]
        return self.readonly_fields

    # --- Columns and read-only fields

    @admin.display(description=_("phone number"), ordering="phone")
    def phone_display(self, obj):
        return phone_national(obj.phone)

    @admin.display(description=_("points available now"))
    def points_available(self, obj):
        return member_spendable_points(member=obj)

    @admin.display(description=_("points pending"))
    def points_pending(self, obj):
        return member_pending_points(member=obj)

    @admin.display(description=_("points expiring in the next 30 days"))
    def points_expiring(self, obj):
        return member_points_expiring(member=obj, within_days=EXPIRING_WITHIN_DAYS)

    @admin.display(description=_("value of the balance (VND)"))
    def points_value(self, obj):
        return f"{points_to_money(obj.points_balance, programme_settings_get().point_value):,.0f}"

    @admin.display(description=_("consent given at"))
    def consent_times(self, obj):
        rows = [
            (channel.upper(), timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "—")
            for channel in Member.CONSENT_CHANNELS
            for at in [obj.consent_given_at(channel)]
        ]
        return format_html_join(" · ", "{}: {}", rows)

    @admin.display(description=_("record of consent changes"))
    def consent_history(self, obj):
        # Read-only: the record is written by members.services only (Decree 13/2023).
        changes = member_consent_changes(member=obj, limit=CONSENT_CHANGES_SHOWN)
        if not changes:
            return gettext("No consent given or withdrawn yet.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(change.at).strftime("%Y-%m-%d %H:%M"),
                    change.channel.upper(),
                    gettext("given") if change.given else gettext("withdrawn"),
                    change.get_source_display(),
                    change.by.get_username() if change.by else "",
                    change.note,
                )
                for change in changes
            ),
        )
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            gettext("at"),
            gettext("channel"),
            gettext("consent"),
            gettext("how"),
            gettext("staff user"),
            gettext("note"),
        )
        return format_html("<table><thead>{}</thead><tbody>{}</tbody></table>", head, rows)

    @admin.display(description=_("history of changes"))
    def audit_trail(self, obj):
        url = reverse("admin:members_historicalmember_changelist") + f"?id={obj.pk}"
        adjustments = reverse("admin:members_pointsadjustment_changelist") + f"?member__id__exact={obj.pk}"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            url,
            gettext("Who changed what, and why"),
            adjustments,
            gettext("Point adjustments"),
        )

    @admin.display(description=_("latest ledger entries"))
    def latest_entries(self, obj):
        entries = ledger_entries_recent(member=obj, limit=RECENT_ENTRIES)
        ledger_url = reverse("admin:members_ledgerentry_changelist") + f"?member__id__exact={obj.pk}"
        links = format_html('<a href="{}">{}</a>', ledger_url, gettext("Full ledger of this member"))
        if not entries:
            return format_html("<p>{}</p><p>{}</p>", gettext("No ledger entries yet."), links)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td style='text-align:right'>{}</td>"
            "<td style='text-align:right'>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M"),
                    entry.get_kind_display(),
                    f"{entry.points:+d}",
                    entry.balance_after,
                    " ".join(filter(None, [entry.cause_kind, entry.cause_reference])) or "—",
                    entry.reason or (entry.created_by.get_username() if entry.created_by else ""),
                )
                for entry in entries
            ),
        )
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            gettext("posted at"),
            gettext("kind"),
            gettext("points"),
            gettext("balance after"),
            gettext("cause"),
            gettext("reason"),
        )
        return format_html("<table><thead>{}</thead><tbody>{}</tbody></table><p>{}</p>", head, rows, links)

    @admin.display(description=_("store credit entries"))
    def store_credit_entries(self, obj):
        url = reverse("admin:members_storecreditentry_changelist") + f"?member__id__exact={obj.pk}"
        return format_html(
            '{} · <a href="{}">{}</a>',
            format_vnd(obj.store_credit_balance),
            url,
            gettext("Store credit entries of this member"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_adjust_points": self.has_adjust_points_permission(request),
            "can_adjust_store_credit": self.has_adjust_store_credit_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Writes through the services

    def save_model(self, request, obj, form, change):
        if not change:
            member = member_enrol(
                name=form.cleaned_data["name"],
                phone=form.cleaned_data["phone"],
                email=form.cleaned_data.get("email") or "",
                birthday=form.cleaned_data.get("birthday"),
                gender=form.cleaned_data.get("gender") or "",
                home_store=form.cleaned_data.get("home_store"),
                card_number=form.cleaned_data.get("card_number") or "",
                referral_code=form.cleaned_data.get("referral_code") or "",
                consents=form.consents(),
                consent_source=ConsentChange.Source.STAFF,
                consent_by=request.user,
                channel=Member.Channel.ADMIN,
            )
            copy_saved(obj, member)
            return
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in UPDATABLE_FIELDS}
        if data:
            member_update(
                member=obj, data=data, changed_by=request.user, reason=form.cleaned_data.get("change_reason") or ""
            )
        for channel, given in form.consents().items():
            if f"consent_{channel}" in form.changed_data:
                member_consent_set(
                    member=obj, channel=channel, given=given, source=ConsentChange.Source.STAFF, by=request.user
                )

    def has_delete_permission(self, request, obj=None):
        # Members are never deleted (their ledger is kept): block or merge them instead.
        return False

    def has_adjust_points_permission(self, request):
        return request.user.has_perm("members.adjust_points")

    def has_adjust_store_credit_permission(self, request):
        return request.user.has_perm("members.adjust_store_credit")

    def has_merge_permission(self, request):
        # Merging retires a member record for good: it takes the right to delete members too.
        return request.user.has_perm("members.change_member") and request.user.has_perm("members.delete_member")

    # --- Actions

    def _each(self, request, queryset, service, done_message):
        done = 0
        for member in queryset.exclude(status=Member.Status.MERGED):
            try:
                service(member=member)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{member}: {refusal_text(exc)}", messages.ERROR)
        self.message_user(request, done_message(done) % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Block the selected members"), permissions=["change"])
    def block_members(self, request, queryset):
        reason = gettext("Blocked in the back office by %(user)s.") % {"user": request.user.get_username()}
        self._each(
            request,
            queryset.filter(status=Member.Status.ACTIVE),
            lambda member: member_block(member=member, reason=reason, changed_by=request.user),
            lambda n: ngettext("%(count)d member blocked.", "%(count)d members blocked.", n),
        )

    @admin.action(description=_("Unblock the selected members"), permissions=["change"])
    def unblock_members(self, request, queryset):
        reason = gettext("Unblocked in the back office by %(user)s.") % {"user": request.user.get_username()}
        self._each(
            request,
            queryset.filter(status=Member.Status.BLOCKED),
            lambda member: member_unblock(member=member, reason=reason, changed_by=request.user),
            lambda n: ngettext("%(count)d member unblocked.", "%(count)d members unblocked.", n),
        )

    @admin.action(description=_("Mark the selected members as reviewed"), permissions=["change"])
    def clear_review(self, request, queryset):
        self._each(
            request,
            queryset.filter(needs_review=True),
            member_review_clear,
            lambda n: ngettext("%(count)d member marked as reviewed.", "%(count)d members marked as reviewed.", n),
        )

    @admin.action(description=_("Merge the two selected members"), permissions=["merge"])
    def merge_members(self, request, queryset):
        members = list(queryset.select_related("home_store").order_by("pk")[:3])
        if len(members) != 2:
            self.message_user(request, gettext("Select exactly two members to merge."), messages.ERROR)
            return None
        if any(member.status == Member.Status.MERGED for member in members):
            self.message_user(request, gettext("A merged member cannot be merged again."), messages.ERROR)
            return None
        form = MergeMembersForm(request.POST if "confirm" in request.POST else None, members=members)
        if form.is_bound and form.is_valid():
            survivor, merged = form.pair()
            try:
                member_merge(
                    survivor=survivor, merged=merged, merged_by=request.user, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                self.message_user(request, refusal_text(exc), messages.ERROR)
                return None
            self.message_user(
                request,
                gettext("%(merged)s was merged into %(survivor)s.") % {"merged": merged, "survivor": survivor},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:members_member_change", args=[survivor.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Merge two members"),
            "opts": self.opts,
            "members": members,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "balances": [(member, member.points_balance) for member in members],
        }
        return TemplateResponse(request, "admin/members/member/merge.html", context)

    # --- The "Adjust points" page

    def get_urls(self):
        return [
            path(
                "<path:object_id>/adjust-points/",
                self.admin_site.admin_view(self.adjust_points_view),
                name="members_member_adjust_points",
            ),
            path(
                "<path:object_id>/adjust-store-credit/",
                self.admin_site.admin_view(self.adjust_store_credit_view),
                name="members_member_adjust_store_credit",
            ),
            *super().get_urls(),
        ]

    def adjust_points_view(self, request, object_id):
        if not self.has_adjust_points_permission(request):
            raise PermissionDenied
        member = self.get_object(request, unquote(object_id))
        if member is None:
            raise Http404(gettext("No member with this id."))
        form = AdjustPointsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                adjustment = points_adjustment_request(
                    member=member,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    requested_by=request.user,
                    reference=f"admin:adjust:{form.cleaned_data['token']}",
                )
            except DomainError as exc:
                refusal_onto_form(form, exc)
            else:
                if adjustment.status == PointsAdjustment.Status.PENDING:
                    self.message_user(
                        request,
                        gettext(
                            "%(points)+d points are above your limits: the adjustment waits for a programme lead's approval."  # noqa: E501
                        )
                        % {"points": adjustment.points},
                        messages.WARNING,
                    )
                else:
                    self.log_change(
                        request,
                        member,
                        gettext("Adjusted points: %(points)+d (%(reason)s)")
                        % {"points": adjustment.points, "reason": adjustment.reason},
                    )
                    self.message_user(
                        request,
                        gettext("%(points)+d points recorded; the balance is now %(balance)d.")
                        % {"points": adjustment.points, "balance": adjustment.entry.balance_after},
                        messages.SUCCESS,
                    )
                return HttpResponseRedirect(reverse("admin:members_member_change", args=[member.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust points: %(member)s") % {"member": member},
            "opts": self.opts,
            "original": member,
            "member": member,
            "form": form,
            "points_available": member_spendable_points(member=member),
            "has_view_permission": self.has_view_permission(request, member),
        }
        return TemplateResponse(request, "admin/members/member/adjust_points.html", context)

    def adjust_store_credit_view(self, request, object_id):
        if not self.has_adjust_store_credit_permission(request):
            raise PermissionDenied
        member = self.get_object(request, unquote(object_id))
        if member is None:
            raise Http404(gettext("No member with this id."))
        form = AdjustStoreCreditForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = store_credit_adjust(
                    member=member,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    created_by=request.user,
                    reference=f"admin:adjust-credit:{form.cleaned_data['token']}",
                )
            except DomainError as exc:
                refusal_onto_form(form, exc)
            else:
                self.log_change(
                    request,
                    member,
                    gettext("Adjusted store credit: %(amount)s (%(reason)s)")
                    % {"amount": format_vnd(entry.amount), "reason": entry.reason},
                )
                self.message_user(
                    request,
                    gettext("Store credit adjusted; the balance is now %(balance)s.")
                    % {"balance": format_vnd(entry.balance_after)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:members_member_change", args=[member.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust store credit: %(member)s") % {"member": member},
            "opts": self.opts,
            "original": member,
            "member": member,
            "form": form,
            "balance_display": format_vnd(member.store_credit_balance),
            "has_view_permission": self.has_view_permission(request, member),
        }
        return TemplateResponse(request, "admin/members/member/adjust_store_credit.html", context)


# --- Cards ------------------------------------------------------------------------------------


@admin.register(Card)
class CardAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, MemberSearchMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "member",
        "is_active",
        "issued_at",
        "deactivated_at",
        "deactivation_reason",
        "replaced_by",
    ]
    list_filter = ["is_active", "deactivation_reason", ("issued_at", admin.DateFieldListFilter)]
    search_fields = ["number", "member__code", "member__name", "member__phone"]
    exact_search_fields = ("number",)
    ordering = ["-issued_at", "-pk"]
    list_select_related = ["member", "replaced_by"]
    autocomplete_fields = ["member"]
    actions = ["deactivate_cards"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CardAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["member", "number", "is_active", "issued_at", "deactivated_at", "deactivation_reason", "replaced_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["member", "number"]
        return self.get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        card = card_issue(member=form.cleaned_data["member"], number=form.cleaned_data["number"])
        copy_saved(obj, card)

    @admin.action(description=_("Deactivate the selected cards (lost)"), permissions=["change"])
    def deactivate_cards(self, request, queryset):
        count = 0
        for card in queryset.filter(is_active=True):
            card_deactivate(card=card, reason=Card.DeactivationReason.LOST)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d card deactivated.", "%(count)d cards deactivated.", count) % {"count": count},
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/replace/",
                self.admin_site.admin_view(self.replace_view),
                name="members_card_replace",
            ),
            *super().get_urls(),
        ]

    def replace_view(self, request, object_id):
        card = self.get_object(request, unquote(object_id))
        if card is None:
            raise Http404(gettext("No card with this id."))
        if not self.has_change_permission(request, card):
            raise PermissionDenied
        form = ReplaceCardForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                new = card_replace(
                    card=card, new_number=form.cleaned_data["new_number"], reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                refusal_onto_form(form, exc, rename={"number": "new_number"})
            else:
                self.message_user(
                    request,
                    gettext("Card %(old)s replaced by %(new)s.") % {"old": card.number, "new": new.number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:members_member_change", args=[new.member_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Replace card %(number)s") % {"number": card.number},
            "opts": self.opts,
            "original": card,
            "card": card,
            "form": form,
        }
        return TemplateResponse(request, "admin/members/card/replace.html", context)


# --- The ledger (read-only) -------------------------------------------------------------------


@admin.register(LedgerEntry)
class LedgerEntryAdmin(
    LargeTableAdminMixin, StaffScopedAdminMixin, RecordedExportMixin, MemberSearchMixin, ReadOnlyModelAdmin
):
    resource_classes = [LedgerEntryResource]
    exact_search_fields = ("reference", "cause_reference")
    list_display = [
        "created_at",
        "member",
        "kind",
        "points",
        "balance_after",
        "points_not_recovered",
        "cause_kind",
        "cause_reference",
        "created_by",
    ]
    # No filter on `cause_kind`: its choices were read with a DISTINCT over the whole ledger on
    # every page (issue 18); the kind filter and the exact search by cause reference remain.
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["member__code", "member__name", "member__phone", "=reference", "cause_reference"]
    ordering = ["-created_at", "-pk"]
    list_select_related = ["member", "created_by"]
    autocomplete_fields: list = []
    fields = [
        "member",
        "kind",
        "points",
        "balance_after",
        "points_not_recovered",
        "occurred_at",
        "created_at",
        "cause_kind",
        "cause_reference",
        "reference",
        "reverses",
        "reason",
        "created_by",
        "lot_movements",
    ]
    readonly_fields = fields

    @admin.display(description=_("lot movements"))
    def lot_movements(self, obj):
        movements = obj.movements.select_related("lot").order_by("pk")
        return (
            format_html_join(
                ", ", "{}: {}", ((gettext("lot #%(id)s") % {"id": m.lot_id}, f"{m.points:+d}") for m in movements)
            )
            or "—"
        )


@admin.register(StoreCreditEntry)
class StoreCreditEntryAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    """The store-credit ledger, read-only: staff adjust through the member's "Adjust store
    credit" page (`members.services.store_credit_adjust`)."""

    exact_search_fields = ("reference", "cause_reference")
    list_display = [
        "created_at",
        "member",
        "kind",
        "amount",
        "balance_after",
        "amount_not_recovered",
        "cause_kind",
        "cause_reference",
        "created_by",
    ]
    list_filter = ["kind", "cause_kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["member__code", "member__name", "member__phone", "=reference", "cause_reference"]
    ordering = ["-created_at", "-pk"]
    list_select_related = ["member", "created_by"]
    autocomplete_fields: list = []
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "member",
        "kind",
        "amount",
        "balance_after",
        "amount_not_recovered",
        "occurred_at",
        "created_at",
        "cause_kind",
        "cause_reference",
        "reference",
        "reverses",
        "reason",
        "created_by",
    ]
    readonly_fields = fields


class LotMovementInline(ReadOnlyTabularInline):
    model = LotMovement
    fields = ["entry", "points"]
    readonly_fields = fields


class LotOpenFilter(admin.SimpleListFilter):
    title = _("points left")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", _("With points left")), ("no", _("Used up or expired"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(remaining__gt=0)
        if self.value() == "no":
            return queryset.filter(remaining=0)
        return queryset


@admin.register(PointLot)
class PointLotAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    list_display = ["pk", "member", "points", "remaining", "earned_at", "available_from", "expires_at"]
    list_filter = [LotOpenFilter, ("expires_at", admin.DateFieldListFilter)]
    search_fields = ["member__code", "member__name", "member__phone"]
    ordering = ["expires_at", "pk"]
    list_select_related = ["member"]
    autocomplete_fields: list = []
    fields = ["member", "entry", "points", "remaining", "earned_at", "available_from", "expires_at"]
    readonly_fields = fields
    inlines = [LotMovementInline]


@admin.register(MemberMerge)
class MemberMergeAdmin(StaffScopedAdminMixin, ReadOnlyModelAdmin):
    list_display = ["merged_at", "merged", "survivor", "merged_by", "reason"]
    list_filter = [("merged_at", admin.DateFieldListFilter)]
    search_fields = ["merged__code", "merged__phone", "survivor__code", "survivor__phone", "survivor__name"]
    ordering = ["-merged_at", "-pk"]
    list_select_related = ["merged", "survivor", "merged_by"]
    autocomplete_fields: list = []
    date_hierarchy = "merged_at"
    fields = ["merged_at", "merged", "survivor", "merged_by", "reason", "snapshot", "moved"]
    readonly_fields = fields


# --- Point adjustments and their approval -----------------------------------------------------


class AdjustmentStatusFilter(admin.SimpleListFilter):
    """Opens on the adjustments waiting for approval: the list a programme lead works through."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label in PointsAdjustment.Status.choices] + [("all", _("All"))]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or PointsAdjustment.Status.PENDING) == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or PointsAdjustment.Status.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(PointsAdjustment)
class PointsAdjustmentAdmin(StaffScopedAdminMixin, ReadOnlyModelAdmin):
    list_display = ["requested_at", "member", "points", "status", "requested_by", "reason", "decided_by", "decided_at"]
    list_filter = [AdjustmentStatusFilter, ("requested_at", admin.DateFieldListFilter)]
    search_fields = ["member__code", "member__name", "member__phone", "requested_by__username", "reason"]
    ordering = ["-requested_at", "-pk"]
    list_select_related = ["member", "requested_by", "decided_by"]
    autocomplete_fields: list = []
    date_hierarchy = "requested_at"
    actions = ["approve_adjustments", "reject_adjustments"]
    fields = [
        "member",
        "points",
        "reason",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "entry",
        "reference",
    ]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # The member page links here with ?member__id__exact=N.
        return lookup == "member__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_approve_permission(self, request):
        return request.user.has_perm("members.approve_pointsadjustment")

    def _decide(self, request, queryset, service, done_message):
        done = 0
        for adjustment in queryset.filter(status=PointsAdjustment.Status.PENDING):
            try:
                service(adjustment, request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{adjustment}: {refusal_text(exc)}", messages.ERROR)
        self.message_user(request, done_message(done) % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected adjustments"), permissions=["approve"])
    def approve_adjustments(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda adjustment, user: points_adjustment_approve(adjustment=adjustment, approved_by=user),
            lambda n: ngettext("%(count)d adjustment approved.", "%(count)d adjustments approved.", n),
        )

    @admin.action(description=_("Reject the selected adjustments"), permissions=["approve"])
    def reject_adjustments(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda adjustment, user: points_adjustment_reject(adjustment=adjustment, rejected_by=user),
            lambda n: ngettext("%(count)d adjustment rejected.", "%(count)d adjustments rejected.", n),
        )


# --- The audit trail (django-simple-history), read-only -----------------------------------------


def history_field_changes(record) -> list[tuple[str, object, object]]:
    """(field name, old, new) for each tracked field one historical record changed. Our own
    comparison: the library's `diff_against` leaves out fields that are not editable in forms,
    such as `merged_into`."""
    previous = record.prev_record
    if previous is None:
        return []
    changes = []
    for field in record.instance_type._meta.concrete_fields:
        if not hasattr(previous, field.attname) or field.attname == "updated_at":
            continue
        old, new = getattr(previous, field.attname), getattr(record, field.attname)
        if old != new:
            changes.append((field.name, old, new))
    return changes


def history_changes(record) -> str:
    """The fields one historical record changed, as old → new (creation: every value set)."""
    if record.prev_record is None:
        return gettext("Created")
    changes = history_field_changes(record)
    if not changes:
        return "—"
    return format_html_join(
        "; ",
        "{}: {} → {}",
        (
            (record.instance_type._meta.get_field(name).verbose_name, "—" if old in (None, "") else old,
             "—" if new in (None, "") else new)
            for name, old, new in changes
        ),
    )  # fmt: skip


class HistoryAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, ReadOnlyModelAdmin):
    list_filter = ["history_type", ("history_date", admin.DateFieldListFilter)]
    ordering = ["-history_date", "-history_id"]
    list_select_related = ["history_user"]
    autocomplete_fields: list = []

    def get_fields(self, request, obj=None):
        return ["history_date", "history_user", "history_type", "history_change_reason", "changes"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("changes (old → new)"))
    def changes(self, obj):
        return history_changes(obj)


@admin.register(Member.history.model)
class MemberHistoryAdmin(HistoryAdmin):
    list_display = ["history_date", "code", "name", "history_user", "history_type", "changes", "history_change_reason"]
    search_fields = ["code", "phone", "name", "history_user__username", "=id"]

    def lookup_allowed(self, lookup, value, request=None):
        # The member page links here with ?id=N.
        return lookup == "id" or super().lookup_allowed(lookup, value, request)


@admin.register(PointsAdjustment.history.model)
class PointsAdjustmentHistoryAdmin(HistoryAdmin):
    list_display = ["history_date", "member", "points", "status", "history_user", "changes", "history_change_reason"]
    list_select_related = ["history_user", "member"]
    search_fields = ["member__code", "member__phone", "history_user__username", "reference"]
