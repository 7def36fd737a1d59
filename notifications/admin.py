from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.admin import LargeTableAdminMixin, ReadOnlyModelAdmin
from loyalty_site.core.errors import DomainError
from loyalty_site.core.scoping import StaffScopedAdminMixin
from members.admin import MemberSearchMixin
from members.selectors import member_lookup
from notifications.models import Channel, MemberPreference, Message, MessageTemplate, ZaloConnection
from notifications.rendering import EVENT_PLACEHOLDERS, PLACEHOLDERS
from notifications.selectors import message_delivery_counts
from notifications.services import (
    member_preference_set,
    message_resend,
    template_preview,
    template_save,
    template_send_test,
    zalo_token_renew,
    zalo_tokens_set,
)


class TemplatePreviewForm(forms.Form):
    member = forms.CharField(
        label=_("Member"),
        required=False,
        help_text=_("Member code, card number or phone number; blank: example values."),
    )
    recipient = forms.CharField(
        label=_("Send the test to"),
        required=False,
        help_text=_("Email: blank sends to your own address. SMS and Zalo: a phone number. Push: a device token."),
    )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["event", "variant", "channel", "language", "subject_or_text", "is_active", "updated_at"]
    list_filter = ["event", "channel", "language", "is_active"]
    search_fields = ["variant", "subject", "body", "zalo_template_id"]
    ordering = ["event", "variant", "channel", "language"]
    list_select_related: list = []
    autocomplete_fields: list = []
    readonly_fields = ["placeholders", "preview_link", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["event", "variant", "channel", "language", "is_active"]}),
        (_("Text"), {"fields": ["subject", "body", "placeholders"]}),
        (_("Zalo ZNS"), {"fields": ["zalo_template_id", "zalo_params"]}),
        (None, {"fields": ["preview_link", "created_at", "updated_at"]}),
    ]
    actions = ["preview_and_test"]

    @admin.display(description=_("text"))
    def subject_or_text(self, obj):
        text = obj.subject or obj.body or obj.zalo_template_id
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj):
        names = EVENT_PLACEHOLDERS.get(obj.event, tuple(PLACEHOLDERS)) if obj and obj.event else tuple(PLACEHOLDERS)
        rows = format_html_join(
            "", "<tr><td><code>{{{}}}</code></td><td>{}</td></tr>", ((n, PLACEHOLDERS[n]) for n in names)
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description=_("preview"))
    def preview_link(self, obj):
        if not obj or not obj.pk:
            return "-"
        url = reverse("admin:notifications_messagetemplate_preview", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Preview and send a test"))

    def save_model(self, request, obj, form, change):
        template_save(template=obj)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="notifications_messagetemplate_preview",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Preview and send a test"), permissions=["view"])
    def preview_and_test(self, request, queryset):
        template = queryset.order_by("pk").first()
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one template to preview."), messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:notifications_messagetemplate_preview", args=[template.pk]))

    def preview_view(self, request, object_id):
        template = get_object_or_404(MessageTemplate, pk=object_id)
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else request.GET
        form = TemplatePreviewForm(data or None)
        member = None
        if form.is_bound and form.is_valid() and form.cleaned_data["member"]:
            member = member_lookup(query=form.cleaned_data["member"])
            if member is None:
                form.add_error("member", _("No member matches."))
        preview_url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])

        if request.method == "POST" and form.is_valid():
            if not self.has_change_permission(request, template):
                raise PermissionDenied
            recipient = form.cleaned_data["recipient"]
            if template.channel == Channel.EMAIL and not recipient:
                recipient = request.user.email
            if not recipient:
                form.add_error("recipient", _("Enter where to send the test."))
            else:
                try:
                    result = template_send_test(template=template, recipient=recipient, member=member)
                except DomainError as exc:
                    details = [str(m) for field_messages in exc.errors.values() for m in field_messages]
                    self.message_user(request, "; ".join(details) or str(exc.detail), messages.ERROR)
                else:
                    self.message_user(
                        request,
                        _("Test sent to %(recipient)s (provider id: %(id)s).")
                        % {"recipient": result.recipient, "id": result.provider_message_id or "-"},
                        messages.SUCCESS,
                    )
                    query = urlencode({"member": form.cleaned_data["member"]}) if member else ""
                    return HttpResponseRedirect(f"{preview_url}?{query}" if query else preview_url)

        rendered = template_preview(template=template, member=member)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Preview: %(template)s") % {"template": template},
            "template_obj": template,
            "form": form,
            "member": member,
            "rendered": rendered,
            "can_send": self.has_change_permission(request, template),
            "user_email": request.user.email,
        }
        return TemplateResponse(request, "admin/notifications/messagetemplate/preview.html", context)


@admin.register(MemberPreference)
class MemberPreferenceAdmin(StaffScopedAdminMixin, admin.ModelAdmin):
    list_display = ["member", "language", "has_push_token", "updated_at"]
    list_filter = ["language"]
    search_fields = ["member__code", "member__name", "member__phone"]
    ordering = ["member__name"]
    list_select_related = ["member"]
    autocomplete_fields = ["member"]
    # The push address is the member's own device's, registered by the member app: staff may see
    # whether there is one, never type one in (a wrong one sends the member's messages elsewhere).
    fields = ["member", "language", "has_push_token"]
    readonly_fields = ["has_push_token"]

    @admin.display(description=_("push token"), boolean=True)
    def has_push_token(self, obj):
        return bool(obj.push_token)

    def save_model(self, request, obj, form, change):
        saved = member_preference_set(member=obj.member, language=obj.language)
        obj.pk = saved.pk
        obj._state.adding = False


@admin.register(Message)
class MessageAdmin(LargeTableAdminMixin, StaffScopedAdminMixin, MemberSearchMixin, ReadOnlyModelAdmin):
    """The outbox: a record, read-only; the only action is sending failed messages again."""

    list_display = [
        "id",
        "created_at",
        "member",
        "event",
        "channel",
        "status",
        "skip_reason",
        "attempts",
        "scheduled_at",
        "sent_at",
        "marketing",
    ]
    list_filter = ["status", "channel", "event", "marketing", "skip_reason", "language"]
    search_fields = [
        "member__code",
        "member__name",
        "member__phone",
        "recipient",
        "=provider_message_id",
        "=dedupe_key",
    ]
    ordering = ["-created_at", "-pk"]
    list_select_related = ["member"]
    autocomplete_fields = ["member"]
    actions = ["resend"]
    fieldsets = [
        (None, {"fields": ["member", "event", "channel", "language", "marketing", "template", "recipient"]}),
        (_("Text"), {"fields": ["subject", "body", "zns_template_id", "zns_params"]}),
        (
            _("Delivery"),
            {
                "fields": [
                    "status",
                    "skip_reason",
                    "skip_detail",
                    "attempts",
                    "scheduled_at",
                    "queued_at",
                    "claimed_at",
                    "sent_at",
                    "provider_message_id",
                    "last_error",
                    "dedupe_key",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_resend_permission(self, request):
        return request.user.has_perm("notifications.resend_message")

    @admin.action(description=_("Send the selected failed messages again"), permissions=["resend"])
    def resend(self, request, queryset):
        resent = skipped = 0
        for message in queryset.order_by("pk"):
            try:
                message_resend(message=message)
            except DomainError:
                skipped += 1
            else:
                resent += 1
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", resent) % {"count": resent},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message was left alone: only failed messages can be sent again.",
                    "%(count)d messages were left alone: only failed messages can be sent again.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            context["delivery_counts"] = message_delivery_counts(context["cl"].queryset)
            context["delivery_statuses"] = Message.Status.choices
        return response


# --- Zalo OA tokens ---------------------------------------------------------------------------


class ZaloConnectionForm(forms.ModelForm):
    """The tokens are typed in, never shown back: the stored ones stay encrypted."""

    refresh_token = forms.CharField(
        label=_("New refresh token"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "From the Zalo Official Account's authorisation (developers.zalo.me). It is used once: every "
            "renewal stores the next one."
        ),
    )
    access_token = forms.CharField(
        label=_("Access token (optional)"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty: a new access token is fetched with the refresh token at once."),
    )

    class Meta:
        model = ZaloConnection
        fields: list = []


@admin.register(ZaloConnection)
class ZaloConnectionAdmin(admin.ModelAdmin):
    form = ZaloConnectionForm
    list_display = ["__str__", "access_expires_at", "renewed_at", "renewal_state", "failures", "updated_by"]
    list_filter: list = []
    search_fields: list = []
    ordering = ["pk"]
    list_select_related = ["updated_by"]
    autocomplete_fields: list = []
    readonly_fields = ["access_expires_at", "renewed_at", "renewal_state", "failed_at", "failures", "last_error",
                       "updated_at", "updated_by"]  # fmt: skip
    fieldsets = [
        (_("Tokens"), {"fields": ["refresh_token", "access_token"]}),
        (_("Renewal"), {"fields": readonly_fields}),
    ]
    actions = ["renew_now"]

    @admin.display(description=_("renewal"))
    def renewal_state(self, obj: ZaloConnection) -> str:
        if obj.is_failing:
            return gettext("Failing")
        return gettext("Working") if obj.renewed_at else gettext("Not renewed yet")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ZaloConnection.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = zalo_tokens_set(
            refresh_token=form.cleaned_data["refresh_token"],
            access_token=form.cleaned_data.get("access_token") or "",
            by=request.user,
        )
        obj.pk = saved.pk
        result = zalo_token_renew(force=not form.cleaned_data.get("access_token"))
        if result.error:
            self.message_user(request, gettext("Renewing failed: %(error)s") % {"error": result.error}, messages.ERROR)

    @admin.action(description=_("Renew the access token now"), permissions=["change"])
    def renew_now(self, request, queryset):
        result = zalo_token_renew(force=True)
        if result.renewed:
            self.message_user(request, gettext("The Zalo access token was renewed."), messages.SUCCESS)
        elif result.error:
            self.message_user(request, gettext("Renewing failed: %(error)s") % {"error": result.error}, messages.ERROR)
        else:
            self.message_user(request, gettext("No refresh token is stored yet."), messages.WARNING)
