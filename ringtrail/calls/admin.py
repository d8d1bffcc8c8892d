"""Admin for calls: support staff can inspect, but what the carrier sent is never edited."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ringtrail.calls.models import Call, CallEvent

# Evidence of what the carrier told us and what we answered; editing it would falsify the audit trail.
CALL_EVIDENCE_FIELDS = (
    "carrier",
    "carrier_call_id",
    "raw_payload",
    "response_body",
    "response_content_type",
    "created_at",
    "updated_at",
)


class CallEventInline(admin.TabularInline[CallEvent, Call]):
    model = CallEvent
    extra = 0
    fields = ("sequence", "kind", "status", "occurred_at", "received_at")
    readonly_fields = fields
    ordering = ("sequence", "received_at")
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Call | None = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin[Call]):
    list_display = (
        "start_time",
        "account",
        "customer_phone_number",
        "tracking_phone_number",
        "source_name",
        "outcome",
        "talk_seconds",
        "first_call",
    )
    list_filter = ("outcome", "carrier", "first_call")
    search_fields = ("customer_phone_number", "customer_name", "tracking_phone_number", "carrier_call_id")
    date_hierarchy = "start_time"
    raw_id_fields = ("account", "tracking_number", "source", "receiving_number")
    readonly_fields = CALL_EVIDENCE_FIELDS
    inlines = (CallEventInline,)


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin[CallEvent]):
    list_display = ("carrier_call_id", "carrier", "kind", "sequence", "status", "occurred_at", "received_at")
    list_filter = ("carrier", "kind")
    search_fields = ("carrier_call_id",)
    raw_id_fields = ("call",)
    readonly_fields = ("carrier", "carrier_call_id", "kind", "sequence", "payload", "received_at")
