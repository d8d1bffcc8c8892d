from __future__ import annotations

from django.contrib import admin

from ringtrail.flows.models import Flow, FlowVersion


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin[Flow]):
    list_display = ("name", "account", "current_version", "updated_at")
    search_fields = ("name", "account__name")
    raw_id_fields = ("account", "current_version")


@admin.register(FlowVersion)
class FlowVersionAdmin(admin.ModelAdmin[FlowVersion]):
    list_display = ("flow", "number", "created_at")
    raw_id_fields = ("flow",)
    readonly_fields = ("flow", "number", "document", "created_at")
