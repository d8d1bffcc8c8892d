"""Admin for carrier connections: the secret can be replaced, never read back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from ringtrail.carriers.models import CarrierConnection


class CarrierConnectionAdminForm(forms.ModelForm[CarrierConnection]):
    new_secret = forms.CharField(
        label="New secret",
        required=False,
        strip=True,
        # render_value=False: the form never echoes a secret back into the page.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Auth token or signing key. Leave blank to keep the current one; it is never shown.",
    )

    class Meta:
        model = CarrierConnection
        fields = ("account", "kind", "label", "account_sid")

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.instance.pk is None and not self.cleaned_data.get("new_secret"):
            self.add_error("new_secret", "A new connection needs its secret.")
        return cleaned

    def save(self, commit: bool = True) -> CarrierConnection:
        connection = super().save(commit=False)
        secret = self.cleaned_data.get("new_secret")
        if secret:
            connection.set_secret(secret)
        if commit:
            connection.save()
        return connection


@admin.register(CarrierConnection)
class CarrierConnectionAdmin(admin.ModelAdmin[CarrierConnection]):
    form = CarrierConnectionAdminForm
    list_display = ("__str__", "account", "kind", "account_sid", "has_secret", "created_at")
    list_filter = ("kind",)
    search_fields = ("label", "account_sid", "account__name")
    raw_id_fields = ("account",)
    fields = ("account", "kind", "label", "account_sid", "new_secret")

    @admin.display(boolean=True, description="Secret set")
    def has_secret(self, obj: CarrierConnection) -> bool:
        return bool(obj.secret_sealed)
