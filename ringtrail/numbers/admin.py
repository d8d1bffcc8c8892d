from __future__ import annotations

from django.contrib import admin

from ringtrail.numbers.models import ReceivingNumber, TrackingNumber


@admin.register(ReceivingNumber)
class ReceivingNumberAdmin(admin.ModelAdmin[ReceivingNumber]):
    list_display = ("label", "number", "account", "created_at")
    search_fields = ("label", "number", "account__name")
    raw_id_fields = ("account",)


@admin.register(TrackingNumber)
class TrackingNumberAdmin(admin.ModelAdmin[TrackingNumber]):
    list_display = ("number", "account", "state", "source", "receiving_number", "connection", "record_calls")
    list_filter = ("state", "record_calls")
    search_fields = ("number", "account__name", "source__name")
    raw_id_fields = ("account", "connection", "source", "receiving_number")
