"""Scheduled campaigns: configure, preview the audience, activate, send a test, run by hand, and
read each run's history."""

from __future__ import annotations

import datetime

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from campaigns.audiences.admin.groups import member_sample_table
from campaigns.audiences.selectors import audience_sample, audience_today
from campaigns.runs.forms import CampaignAdminForm, RunForm, TestSendForm
from campaigns.runs.journeys import campaign_audience
from campaigns.runs.models import Campaign, CampaignDelivery, CampaignRun
from campaigns.runs.services import (
    campaign_activate,
    campaign_check_runnable,
    campaign_deactivate,
    campaign_save,
    campaign_send_test,
)
from loyalty_site.core.admin import LargeTableAdminMixin, ReadOnlyModelAdmin, refusal_text
from loyalty_site.core.dispatch import task_enqueue_after_commit
from loyalty_site.core.errors import DomainError
from members.admin import MemberSearchMixin
from members.selectors import member_lookup

RECENT_RUNS = 10


def audience_preview(campaign: Campaign, as_of: datetime.date | None = None) -> tuple[int, list]:
    members = campaign_audience(campaign, as_of or audience_today())
    return members.count(), audience_sample(members)


# Registered by `backoffice.admin`, which composes the campaign's result (from `reports`, a floor
# above) onto this page.
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ["code", "name", "audience", "gives", "schedule_text", "once_per", "is_active", "last_run"]
    list_filter = ["is_active", "journey", "schedule", "once_per", "voucher_delivery", "reward"]
    search_fields = ["code", "name", "description"]
    ordering = ["code"]
    list_select_related = ["group", "segment", "reward"]
    autocomplete_fields = ["group", "segment", "reward", "date_schedule"]
    readonly_fields = [
        "is_active",
        "activated_at",
        "activated_by",
        "periodic_task",
        "audience_now",
        "run_history",
        "created_at",
        "updated_at",
        "created_by",
    ]
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "is_active", "activated_at", "activated_by"]}),
        (_("Audience"), {"fields": ["journey", "journey_days", "group", "segment", "audience_now"]}),
        (
            _("What each member gets"),
            {
                "fields": [
                    "reward",
                    "voucher_delivery",
                    "claim_days",
                    "bonus_points",
                    "notification_event",
                    "notification_is_marketing",
                    "once_per",
                ]
            },
        ),
        (
            _("When"),
            {
                "fields": [
                    "schedule",
                    "date_schedule",
                    "run_at",
                    "cron_minute",
                    "cron_hour",
                    "cron_day_of_month",
                    "cron_month_of_year",
                    "cron_day_of_week",
                    "periodic_task",
                ],
                "description": _("Recurring schedules are read in the programme's time zone (Asia/Ho_Chi_Minh)."),
            },
        ),
        (
            _("Measuring the result"),
            {
                "fields": ["holdout_percent", "result_days"],
                "description": _(
                    "A holdout is drawn at random in each run; its members are recorded and get nothing, so "
                    "that their sales show what the members reached would have bought anyway."
                ),
            },
        ),
        (_("Runs"), {"fields": ["run_history"]}),
        (_("History"), {"fields": ["created_at", "updated_at", "created_by"]}),
    ]
    actions = ["deactivate"]

    # --- Columns and read-only fields

    @admin.display(description=_("audience"))
    def audience(self, obj: Campaign) -> str:
        narrowing = str(obj.group or obj.segment or "")
        if not obj.journey:
            return narrowing or "-"
        journey = str(obj.get_journey_display())
        return f"{journey} ({narrowing})" if narrowing else journey

    @admin.display(description=_("gives"))
    def gives(self, obj: Campaign) -> str:
        parts = []
        if obj.reward_id and obj.voucher_delivery == Campaign.VoucherDelivery.CLAIM_LINK:
            parts.append(gettext("%(code)s by claim link") % {"code": obj.reward.code})
        elif obj.reward_id:
            parts.append(obj.reward.code)
        if obj.bonus_points:
            parts.append(gettext("%(points)d points") % {"points": obj.bonus_points})
        if obj.notification_event:
            parts.append(gettext("message: %(event)s") % {"event": obj.notification_event})
        return ", ".join(parts)

    @admin.display(description=_("schedule"))
    def schedule_text(self, obj: Campaign) -> str:
        if obj.schedule == Campaign.Schedule.RECURRING:
            return f"cron {obj.crontab_text}"
        if obj.schedule == Campaign.Schedule.ONCE and obj.run_at:
            return gettext("once, %(when)s") % {"when": obj.run_at.strftime("%d/%m/%Y %H:%M")}
        return obj.get_schedule_display()

    @admin.display(description=_("last run"))
    def last_run(self, obj: Campaign) -> str:
        run = obj.runs.exclude(trigger=CampaignRun.Trigger.TEST).order_by("-started_at").first()
        if run is None:
            return "-"
        return f"{run.as_of:%d/%m/%Y} · {run.get_status_display()} · {run.members_reached}"

    @admin.display(description=_("audience today"))
    def audience_now(self, obj: Campaign) -> str:
        if obj.pk is None:
            return gettext("Save the campaign to preview its audience.")
        count, sample = audience_preview(obj)
        text = ngettext("%(count)d member", "%(count)d members", count) % {"count": count}
        return format_html("<p><strong>{}</strong></p>{}", text, member_sample_table(sample))

    @admin.display(description=_("latest runs"))
    def run_history(self, obj: Campaign) -> str:
        if obj.pk is None:
            return "-"
        runs = list(obj.runs.select_related("started_by").order_by("-started_at", "-pk")[:RECENT_RUNS])
        url = reverse("admin:campaigns_campaignrun_changelist") + f"?campaign__id__exact={obj.pk}"
        return render_to_string("admin/campaigns/campaign/run_history.html", {"runs": runs, "all_runs_url": url})

    # --- Saving and actions

    def save_model(self, request, obj, form, change):
        campaign_save(campaign=obj, by=request.user)

    @admin.action(description=_("Switch the selected campaigns off"), permissions=["change"])
    def deactivate(self, request, queryset):
        count = 0
        for campaign in queryset.filter(is_active=True):
            campaign_deactivate(campaign=campaign, by=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d campaign switched off.", "%(count)d campaigns switched off.", count) % {"count": count},
            messages.SUCCESS,
        )

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("campaigns.run_campaign")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_run": self.has_run_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Extra pages

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/activate/", view(self.activate_view), name="campaigns_campaign_activate"),
            path("<path:object_id>/run/", view(self.run_view), name="campaigns_campaign_run"),
            path("<path:object_id>/test/", view(self.test_view), name="campaigns_campaign_test"),
            *super().get_urls(),
        ]

    def _campaign(self, request, object_id) -> Campaign:
        campaign = self.get_object(request, unquote(object_id))
        if campaign is None:
            raise Http404(gettext("No campaign with this id."))
        return campaign

    def _page(self, request, campaign, template, **context):
        return TemplateResponse(
            request,
            f"admin/campaigns/campaign/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": campaign,
                "campaign": campaign,
                **context,
            },
        )

    def activate_view(self, request, object_id):
        """Activation shows the audience first: how many members and who, today."""
        campaign = self._campaign(request, object_id)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        if request.method == "POST":
            try:
                campaign_activate(campaign=campaign, by=request.user)
            except DomainError as exc:
                self.message_user(request, refusal_text(exc), messages.ERROR)
            else:
                self.log_change(request, campaign, gettext("Activated"))
                self.message_user(
                    request, gettext("Campaign %(code)s is active.") % {"code": campaign.code}, messages.SUCCESS
                )
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
        count, sample = audience_preview(campaign)
        return self._page(
            request,
            campaign,
            "activate.html",
            title=gettext("Activate campaign %(code)s") % {"code": campaign.code},
            count=count,
            sample=member_sample_table(sample),
        )

    def run_view(self, request, object_id):
        """Run now, for a chosen day: the audience of that day is shown before confirming; the
        run itself goes to the background worker."""
        campaign = self._campaign(request, object_id)
        if not self.has_run_permission(request):
            raise PermissionDenied
        form = RunForm(request.POST or request.GET or None)
        as_of = form.cleaned_data.get("as_of") if form.is_bound and form.is_valid() else None
        as_of = as_of or audience_today()
        if request.method == "POST" and form.is_valid() and "confirm" in request.POST:
            try:
                campaign_check_runnable(campaign=campaign, as_of=as_of)
            except DomainError as exc:
                self.message_user(request, refusal_text(exc), messages.ERROR)
            else:
                from campaigns.runs.tasks import run_campaign

                campaign_id, day, user_id = campaign.pk, as_of.isoformat(), request.user.pk
                task_enqueue_after_commit(run_campaign, campaign_id, day, CampaignRun.Trigger.MANUAL, user_id)
                self.log_change(request, campaign, gettext("Run started for %(day)s") % {"day": day})
                self.message_user(
                    request,
                    gettext("The run for %(day)s has started; its figures appear under the latest runs.")
                    % {"day": as_of.strftime("%d/%m/%Y")},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
        count, sample = audience_preview(campaign, as_of)
        already = CampaignDelivery.objects.filter(
            campaign=campaign, period_key=campaign.period_key(as_of=as_of)
        ).count()
        return self._page(
            request,
            campaign,
            "run.html",
            title=gettext("Run campaign %(code)s") % {"code": campaign.code},
            form=form if form.is_bound else RunForm(initial={"as_of": as_of}),
            as_of=as_of,
            count=count,
            already=already,
            sample=member_sample_table(sample),
        )

    def test_view(self, request, object_id):
        campaign = self._campaign(request, object_id)
        if not self.has_run_permission(request):
            raise PermissionDenied
        form = TestSendForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            member = member_lookup(query=form.cleaned_data["phone"])
            if member is None:
                form.add_error("phone", gettext("No member has this phone number."))
            else:
                try:
                    run = campaign_send_test(campaign=campaign, member=member, by=request.user)
                except DomainError as exc:
                    form.add_error(None, refusal_text(exc))
                else:
                    level = messages.SUCCESS if run.messages_queued else messages.WARNING
                    self.message_user(request, run.note, level)
                    return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
        return self._page(
            request,
            campaign,
            "test.html",
            title=gettext("Send a test of campaign %(code)s") % {"code": campaign.code},
            form=form,
        )


@admin.register(CampaignRun)
class CampaignRunAdmin(ReadOnlyModelAdmin):
    list_display = [
        "campaign",
        "as_of",
        "trigger",
        "status",
        "started_at",
        "duration",
        "audience_count",
        "members_reached",
        "members_skipped",
        "members_held_out",
        "vouchers_issued",
        "points_given",
        "messages_queued",
        "started_by",
    ]
    list_filter = ["campaign", "status", "trigger", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["campaign__code", "campaign__name", "period_key", "note"]
    ordering = ["-started_at", "-pk"]
    list_select_related = ["campaign", "started_by"]
    autocomplete_fields = ["campaign"]
    date_hierarchy = "started_at"

    @admin.display(description=_("duration"))
    def duration(self, obj: CampaignRun) -> str:
        taken = obj.duration
        return f"{taken.total_seconds():.1f} s" if taken is not None else "-"


@admin.register(CampaignDelivery)
class CampaignDeliveryAdmin(LargeTableAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    list_display = ["campaign", "member", "period_key", "delivered_at", "holdout", "run"]
    list_filter = ["campaign", "holdout", ("delivered_at", admin.DateFieldListFilter)]
    search_fields = ["=member__phone", "member__code", "member__name", "=period_key"]
    ordering = ["-delivered_at", "-pk"]
    list_select_related = ["campaign", "member", "run"]
    autocomplete_fields = ["campaign", "member", "run"]
