"""Forms for account pages."""

from __future__ import annotations

from typing import Any

from django import forms

from ringtrail.accounts.models import Role

# Higher rank = more power; a member may not mint a key that outranks themselves.
ROLE_RANK: dict[str, int] = {Role.READ_ONLY: 0, Role.ANALYST: 1, Role.ADMIN: 2, Role.OWNER: 3}


def roles_grantable_by(role: str) -> list[tuple[str, str]]:
    rank = ROLE_RANK.get(role, -1)
    return [(value, label) for value, label in Role.choices if ROLE_RANK[value] <= rank]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    role = forms.ChoiceField(choices=())

    def __init__(self, *args: Any, granter_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = roles_grantable_by(granter_role)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = choices
        # Least privilege by default: the weakest role is pre-selected.
        role_field.initial = min((value for value, _ in choices), key=ROLE_RANK.__getitem__, default=None)


class AccountSwitchForm(forms.Form):
    slug = forms.SlugField(max_length=80)
    next = forms.CharField(required=False, max_length=2000)
