"""Admin for support staff: accounts, their members, and API keys (hashes only)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ringtrail.accounts.actions import revoke_api_key
from ringtrail.accounts.models import Account, ApiKey, Membership


class MembershipInline(admin.TabularInline[Membership, Account]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "created_at")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin[Account]):
    list_display = ("name", "slug", "time_zone", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "account__name", "account__slug")
    raw_id_fields = ("user", "account")


@admin.action(description="Revoke selected keys")
def revoke_keys(modeladmin: ApiKeyAdmin, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
    for key in queryset:
        revoke_api_key(key)
    modeladmin.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ("name", "account", "role", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("role", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "account__name", "account__slug")
    readonly_fields = (
        "account",
        "prefix",
        "key_hash",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    fields = ("name", "role", *readonly_fields)
    actions = (revoke_keys,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key made here would have no raw value anyone ever saw; keys are made on the dashboard or CLI.
        return False
