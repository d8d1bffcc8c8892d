from __future__ import annotations

from django.contrib import admin

from ringtrail.sources.models import Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin[Source]):
    list_display = ("name", "account", "medium", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "medium", "account__name")
    raw_id_fields = ("account",)
