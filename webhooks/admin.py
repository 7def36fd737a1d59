"""Webhook endpoints and their delivery log in the admin (issue 17). Every write goes through
`webhooks.services`: the form only parses, a refusal is shown on the form and writes nothing."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loyalty_site.core.events import EventKind
from loyalty_site.core.models import copy_saved
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.security import url_refusal
from webhooks.services import (
    SUBSCRIBABLE,
    delivery_replay,
    endpoint_create,
    endpoint_secret_rotate,
    endpoint_send_test,
    endpoint_update,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_kinds = forms.MultipleChoiceField(
        label=_("event kinds"),
        choices=[(kind, EventKind(kind).label) for kind in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every kind of event."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "event_kinds", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        refusal = url_refusal(url)
        if refusal is not None:
            raise forms.ValidationError(refusal)
        return url


def _show_secret(request, secret: str) -> None:
    messages.warning(
        request,
        format_html(
            "{} <code style='user-select:all'>{}</code>. {}",
            _("Signing secret of the endpoint:"),
            secret,
            _("Copy it into the receiver now: it is shown only this once."),
        ),
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "is_active", "failure_count", "last_success_at", "disabled_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    ordering = ["name", "pk"]
    list_select_related = ["created_by"]
    autocomplete_fields = []
    readonly_fields = [
        "secret_shown",
        "failure_count",
        "last_success_at",
        "disabled_at",
        "disabled_reason",
        "created_by",
        "created_at",
    ]
    actions = ["send_test_event", "rotate_secret"]

    def get_fields(self, request, obj=None):
        fields = ["name", "url", "event_kinds", "is_active"]
        return fields if obj is None else [*fields, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    @admin.display(description=_("signing secret"))
    def secret_shown(self, obj):
        return obj.secret_masked

    def _saved_by_service(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            return endpoint_update(
                endpoint=obj,
                name=data["name"],
                url=data["url"],
                event_kinds=data["event_kinds"],
                is_active=data["is_active"],
            ), None
        return endpoint_create(
            name=data["name"],
            url=data["url"],
            event_kinds=data["event_kinds"],
            is_active=data["is_active"],
            by=request.user,
        )

    def save_model(self, request, obj, form, change):
        endpoint, secret = self._saved_by_service(request, obj, form, change)
        copy_saved(obj, endpoint)
        if secret:
            _show_secret(request, secret)

    @admin.action(description=_("Send a test event to the selected endpoints"), permissions=["change"])
    def send_test_event(self, request, queryset):
        sent = 0
        for endpoint in queryset:
            endpoint_send_test(endpoint=endpoint, by=request.user)
            sent += 1
        self.message_user(
            request,
            ngettext("Test event queued for %(count)d endpoint.", "Test event queued for %(count)d endpoints.", sent)
            % {"count": sent},
            messages.SUCCESS,
        )

    @admin.action(description=_("Give the selected endpoints a new signing secret"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            secret = endpoint_secret_rotate(endpoint=endpoint)
            self.message_user(request, endpoint.name, messages.INFO)
            _show_secret(request, secret)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "endpoint",
        "event_kind",
        "attempt",
        "status",
        "status_code",
        "duration_ms",
        "attempted_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "endpoint", "event__kind"]
    search_fields = ["event__uuid", "endpoint__name", "error"]
    ordering = ["-pk"]
    list_select_related = ["endpoint", "event"]
    autocomplete_fields = []
    readonly_fields = [
        "event",
        "endpoint",
        "attempt",
        "status",
        "first_attempt_at",
        "next_attempt_at",
        "attempted_at",
        "status_code",
        "response_excerpt",
        "error",
        "duration_ms",
        "replay_of",
        "created_at",
    ]
    actions = ["replay"]
    show_full_result_count = False  # a long log: no COUNT(*) on every page

    @admin.display(description=_("event"), ordering="event__kind")
    def event_kind(self, obj):
        return obj.event.kind

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # a log: read-only; the replay action asks for its own permission

    def has_replay_permission(self, request):
        return request.user.has_perm("webhooks.change_webhookendpoint")

    @admin.action(description=_("Replay: deliver the selected deliveries' events again"), permissions=["replay"])
    def replay(self, request, queryset):
        count = 0
        for delivery in queryset:
            delivery_replay(delivery=delivery)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
