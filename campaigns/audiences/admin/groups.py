"""Static customer groups, their members, and rule-based segments with a live count."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from campaigns.audiences.forms import PhoneListForm, SegmentAdminForm
from campaigns.audiences.models import CustomerGroup, GroupMembership, Segment
from campaigns.audiences.refresh import segment_refresh
from campaigns.audiences.resources import CustomerGroupResource
from campaigns.audiences.selectors import audience_sample, audience_today, group_members, segment_members
from campaigns.audiences.services import group_add_members_by_phones, group_remove_members, group_save
from loyalty_site.core.admin import LargeTableAdminMixin, refusal_text
from loyalty_site.core.errors import DomainError
from loyalty_site.core.importexport.admin import RecordedExportMixin
from members.admin import MemberSearchMixin
from members.phones import phone_national


def _members_link(group: CustomerGroup, text: str) -> str:
    url = reverse("admin:campaigns_groupmembership_changelist") + f"?group__id__exact={group.pk}"
    return format_html('<a href="{}">{}</a>', url, text)


def member_sample_table(members) -> str:
    return render_to_string(
        "admin/campaigns/member_sample.html",
        {"members": [(m, phone_national(m.phone)) for m in members]},
    )


@admin.register(CustomerGroup)
class CustomerGroupAdmin(RecordedExportMixin, admin.ModelAdmin):
    resource_classes = [CustomerGroupResource]
    list_display = ["name", "member_count", "created_at", "created_by"]
    list_filter = [("created_at", admin.DateFieldListFilter)]
    search_fields = ["name", "description"]
    ordering = ["name"]
    list_select_related = ["created_by"]
    autocomplete_fields: list = []
    readonly_fields = ["member_count", "members_link", "created_at", "updated_at", "created_by"]
    fields = ["name", "description", "member_count", "members_link", "created_at", "updated_at", "created_by"]
    actions = ["add_members_by_phone_list"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("memberships"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: CustomerGroup) -> int:
        if hasattr(obj, "_member_count"):
            return obj._member_count
        return obj.memberships.count() if obj.pk else 0

    @admin.display(description=_("list of members"))
    def members_link(self, obj: CustomerGroup) -> str:
        if obj.pk is None:
            return "-"
        return _members_link(obj, gettext("See the members of this group"))

    def save_model(self, request, obj, form, change):
        group_save(group=obj, by=request.user)

    @admin.action(description=_("Add members by phone list"), permissions=["change"])
    def add_members_by_phone_list(self, request, queryset):
        groups = list(queryset[:2])
        if len(groups) != 1:
            self.message_user(request, gettext("Select exactly one group."), messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:campaigns_customergroup_add_phones", args=[groups[0].pk]))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/add-phones/",
                self.admin_site.admin_view(self.add_phones_view),
                name="campaigns_customergroup_add_phones",
            ),
            *super().get_urls(),
        ]

    def add_phones_view(self, request, object_id):
        group = self.get_object(request, unquote(object_id))
        if group is None:
            raise Http404(gettext("No group with this id."))
        if not self.has_change_permission(request, group):
            raise PermissionDenied
        form = PhoneListForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = group_add_members_by_phones(group=group, phones=form.cleaned_data["phones"], by=request.user)
            except DomainError as exc:
                form.add_error(None, refusal_text(exc))
            else:
                self.message_user(
                    request,
                    ngettext("%(count)d member added.", "%(count)d members added.", result.added)
                    % {"count": result.added},
                    messages.SUCCESS,
                )
                if result.already_in:
                    self.message_user(
                        request,
                        gettext("%(count)d were in the group already.") % {"count": result.already_in},
                        messages.INFO,
                    )
                if result.not_found:
                    self.message_user(
                        request,
                        gettext("No member has these numbers: %(phones)s") % {"phones": ", ".join(result.not_found)},
                        messages.WARNING,
                    )
                if result.invalid:
                    self.message_user(
                        request,
                        gettext("Not phone numbers: %(values)s") % {"values": ", ".join(result.invalid)},
                        messages.WARNING,
                    )
                self.log_change(
                    request, group, gettext("Added %(count)d members by phone list") % {"count": result.added}
                )
                return HttpResponseRedirect(reverse("admin:campaigns_customergroup_change", args=[group.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Add members by phone list: %(group)s") % {"group": group},
            "opts": self.opts,
            "original": group,
            "form": form,
        }
        return TemplateResponse(request, "admin/campaigns/customergroup/add_phones.html", context)


@admin.register(GroupMembership)
class GroupMembershipAdmin(LargeTableAdminMixin, MemberSearchMixin, admin.ModelAdmin):
    list_display = ["group", "member", "member_phone", "source", "added_at", "added_by", "note"]
    list_filter = ["group", "source", ("added_at", admin.DateFieldListFilter)]
    search_fields = ["member__name", "member__code", "=member__phone", "group__name", "note"]
    ordering = ["-added_at", "-pk"]
    list_select_related = ["group", "member", "added_by"]
    autocomplete_fields = ["group", "member"]
    readonly_fields = ["group", "member", "source", "added_at", "added_by", "note"]
    actions = ["remove_from_group"]
    show_full_result_count = False

    @admin.display(description=_("phone number"))
    def member_phone(self, obj: GroupMembership) -> str:
        return phone_national(obj.member.phone)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # removal goes through the service
        return actions

    @admin.action(description=_("Remove the selected members from their group"), permissions=["delete"])
    def remove_from_group(self, request, queryset):
        removed = 0
        by_group: dict[int, list[int]] = {}
        for group_id, member_id in queryset.values_list("group_id", "member_id"):
            by_group.setdefault(group_id, []).append(member_id)
        for group in CustomerGroup.objects.filter(pk__in=by_group):
            removed += group_remove_members(group=group, member_ids=by_group[group.pk])
        self.message_user(
            request,
            ngettext("%(count)d member removed.", "%(count)d members removed.", removed) % {"count": removed},
            messages.SUCCESS,
        )


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ["name", "rules", "created_at"]
    list_filter = ["birthday_month", "gender", "tiers", "home_stores"]
    search_fields = ["name", "description"]
    ordering = ["name"]
    list_select_related: list = []
    autocomplete_fields = ["tiers", "home_stores", "groups", "bought_at_brands"]
    readonly_fields = ["live_count", "sample", "created_at", "updated_at", "created_by"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (_("Members now"), {"fields": ["live_count", "sample"]}),
        (_("Birthday, tier, store"), {"fields": ["birthday_month", "tiers", "home_stores"]}),
        (_("Who they are"), {"fields": ["gender", "age_min", "age_max", "points_balance_min", "points_balance_max"]}),
        (_("Enrolment"), {"fields": ["enrolled_from", "enrolled_until"]}),
        (
            _("Purchases"),
            {
                "fields": [
                    "last_purchase_after",
                    "last_purchase_before",
                    "purchased_within_days",
                    "not_purchased_within_days",
                    "min_spend",
                    "spend_within_days",
                ]
            },
        ),
        (
            _("Sales"),
            {
                "fields": [
                    "bought_at_brands",
                    "bought_categories",
                    "bought_skus",
                    "bought_within_days",
                    "recent_days",
                    "recent_orders_min",
                    "recent_orders_max",
                    "recent_net_sales_min",
                    "recent_net_sales_max",
                    "lifetime_net_sales_min",
                    "lifetime_net_sales_max",
                ],
                "description": _(
                    "Net sales are the money paid less refunds, orders the sales not refunded in full, as in the "
                    "reports. The points balance is today's."
                ),
            },
        ),
        (_("Static groups"), {"fields": ["groups"]}),
        (_("History"), {"fields": ["created_at", "updated_at", "created_by"]}),
    ]

    @admin.display(description=_("rules"))
    def rules(self, obj: Segment) -> str:
        parts = []
        if obj.birthday_month:
            parts.append(gettext("birthday: %(month)s") % {"month": obj.get_birthday_month_display()})
        if obj.enrolled_from or obj.enrolled_until:
            parts.append(
                gettext("enrolled %(start)s – %(end)s")
                % {"start": obj.enrolled_from or "…", "end": obj.enrolled_until or "…"}
            )
        if obj.last_purchase_after or obj.purchased_within_days:
            parts.append(gettext("bought recently"))
        if obj.last_purchase_before or obj.not_purchased_within_days:
            parts.append(gettext("no recent purchase"))
        if obj.min_spend:
            parts.append(gettext("spent at least %(amount)s") % {"amount": f"{int(obj.min_spend):,}".replace(",", ".")})
        if obj.gender:
            parts.append(obj.get_gender_display())
        if obj.age_min is not None or obj.age_max is not None:
            parts.append(
                gettext("aged %(low)s – %(high)s") % {"low": _or_dots(obj.age_min), "high": _or_dots(obj.age_max)}
            )
        if obj.points_balance_min is not None or obj.points_balance_max is not None:
            parts.append(gettext("points balance"))
        if obj.bought_categories or obj.bought_skus or obj.bought_within_days:
            parts.append(gettext("bought given products"))
        if obj.recent_days or obj.lifetime_net_sales_min is not None or obj.lifetime_net_sales_max is not None:
            parts.append(gettext("orders or net sales"))
        return "; ".join(parts) or gettext("see the segment")

    @admin.display(description=_("members today"))
    def live_count(self, obj: Segment) -> str:
        if obj.pk is None:
            return gettext("Save the segment to see its members.")
        count = segment_members(segment=obj, as_of=audience_today()).count()
        return ngettext("%(count)d active member", "%(count)d active members", count) % {"count": count}

    @admin.display(description=_("sample"))
    def sample(self, obj: Segment) -> str:
        if obj.pk is None:
            return "-"
        return member_sample_table(audience_sample(segment_members(segment=obj, as_of=audience_today())))

    def save_model(self, request, obj, form, change):
        if obj.pk is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Its tiers, stores and groups are saved now: the promotions targeting it see the new rules.
        segment_refresh(segment=form.instance)


def _or_dots(value) -> str:
    return "…" if value is None else str(value)


def groupmember_sample_table(group: CustomerGroup) -> str:
    return member_sample_table(audience_sample(group_members(group=group)))
