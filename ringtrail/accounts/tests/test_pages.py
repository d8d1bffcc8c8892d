"""Account pages: sign-in, the account switcher, API keys, and the admin's secret handling."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from ringtrail.accounts.models import ApiKey, Membership, Role, hash_api_key
from ringtrail.carriers.admin import CarrierConnectionAdminForm
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-9"


# --- sign in / out -------------------------------------------------------------------------------


def test_login_page_renders(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_login_with_good_password_lands_on_call_log(
    client: Client, acme: WiredAccount, make_member: Callable[..., Membership]
) -> None:
    membership = make_member(acme.account, Role.ANALYST)
    response = client.post(
        reverse("login"), {"username": membership.user.get_username(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("calls:log")
    assert client.get(reverse("calls:log")).status_code == 200


def test_login_with_bad_password_is_refused(
    client: Client, acme: WiredAccount, make_member: Callable[..., Membership]
) -> None:
    membership = make_member(acme.account)
    response = client.post(reverse("login"), {"username": membership.user.get_username(), "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_by_post_signs_out(acme_owner_client: Client) -> None:
    assert acme_owner_client.get(reverse("calls:log")).status_code == 200
    response = acme_owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert acme_owner_client.get(reverse("calls:log")).status_code == 302


def test_logout_by_get_is_not_allowed(acme_owner_client: Client) -> None:
    assert acme_owner_client.get(reverse("logout")).status_code == 405
    assert acme_owner_client.get(reverse("calls:log")).status_code == 200


def test_home_redirects_to_call_log(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("calls:log")


# --- anonymous visitors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url_name", "kwargs"),
    [
        ("get", "calls:log", {}),
        ("get", "calls:detail", {"pk": 1}),
        ("get", "api-keys", {}),
        ("post", "api-keys", {}),
        ("post", "api-key-revoke", {"pk": 1}),
        ("post", "account-switch", {}),
        ("get", "flows:list", {}),
        ("get", "flows:new", {}),
        ("post", "flows:new", {}),
        ("get", "flows:edit", {"pk": 1}),
        ("post", "flows:edit", {"pk": 1}),
        ("get", "flows:version", {"pk": 1, "number": 1}),
        ("post", "flows:attach", {"pk": 1, "kind": "number"}),
        ("post", "flows:delete", {"pk": 1}),
        ("get", "flows:report", {"pk": 1}),
    ],
)
def test_anonymous_is_sent_to_login(
    client: Client, method: str, url_name: str, kwargs: dict[str, int]
) -> None:
    url = reverse(url_name, kwargs=kwargs)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_signed_in_user_without_membership_gets_a_clear_403(client: Client, acme: WiredAccount) -> None:
    user = get_user_model().objects.create_user(username="drifter", password=PASSWORD)
    client.force_login(user)
    for url in (reverse("calls:log"), reverse("api-keys")):
        response = client.get(url)
        assert response.status_code == 403
        assert b"not a member of any account" in response.content


# --- current account -----------------------------------------------------------------------------


def test_switching_account_changes_what_the_pages_show(
    acme: WiredAccount,
    rival: WiredAccount,
    make_member: Callable[..., Membership],
    make_call: Callable[..., object],
    client_for_member: Callable[[Membership], Client],
) -> None:
    membership = make_member(acme.account, Role.OWNER)
    Membership.objects.create(user=membership.user, account=rival.account, role=Role.READ_ONLY)
    make_call(acme, customer_name="Acme Caller")
    make_call(rival, customer_name="Rival Caller")
    client = client_for_member(membership)

    page = client.get(reverse("calls:log")).content.decode()
    assert "Acme Caller" in page and "Rival Caller" not in page
    assert 'name="slug"' in page  # the switcher appears for a member of several accounts

    response = client.post(reverse("account-switch"), {"slug": rival.account.slug, "next": "/calls/"})
    assert response.status_code == 302
    assert response["Location"] == "/calls/"
    page = client.get(reverse("calls:log")).content.decode()
    assert "Rival Caller" in page and "Acme Caller" not in page
    # The role follows the account: read-only in Rival.
    assert client.post(reverse("api-keys"), {"name": "x", "role": Role.READ_ONLY}).status_code == 403


def test_switching_to_an_account_you_are_not_in_is_404(
    acme_owner_client: Client, rival: WiredAccount
) -> None:
    response = acme_owner_client.post(reverse("account-switch"), {"slug": rival.account.slug})
    assert response.status_code == 404
    assert "account_slug" not in acme_owner_client.session
    assert acme_owner_client.post(reverse("account-switch"), {"slug": "no-such"}).status_code == 404


def test_switch_ignores_an_offsite_next(
    acme: WiredAccount,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    client = client_for_member(make_member(acme.account))
    response = client.post(
        reverse("account-switch"), {"slug": acme.account.slug, "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("calls:log")


def test_nav_shows_account_links_and_logout(acme_owner_client: Client) -> None:
    page = acme_owner_client.get(reverse("calls:log")).content.decode()
    assert "Acme Plumbing" in page
    assert f'href="{reverse("calls:log")}"' in page
    assert f'href="{reverse("api-keys")}"' in page
    assert f'action="{reverse("logout")}"' in page
    assert 'name="slug"' not in page  # no switcher with a single membership


# --- API keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.ANALYST, Role.READ_ONLY])
def test_every_member_can_list_keys(
    role: str,
    acme: WiredAccount,
    rival: WiredAccount,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    from ringtrail.accounts.actions import create_api_key

    create_api_key(acme.account, "Zapier export", Role.READ_ONLY, None)
    create_api_key(rival.account, "Rival secret thing", Role.ADMIN, None)
    response = client_for_member(make_member(acme.account, role)).get(reverse("api-keys"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Zapier export" in page
    assert "Rival secret thing" not in page
    assert ("Create key" in page) == (role in {Role.OWNER, Role.ADMIN})
    if role in {Role.OWNER, Role.ADMIN}:
        # Least privilege is the default choice.
        assert '<option value="read_only" selected>' in page


def test_owner_creates_a_key_shown_once_and_stored_hashed(
    acme: WiredAccount,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    owner = make_member(acme.account, Role.OWNER)
    client = client_for_member(owner)
    response = client.post(reverse("api-keys"), {"name": "Reporting", "role": Role.ANALYST})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(account=acme.account, name="Reporting")
    raw = response.context["raw_key"]
    assert raw.startswith(f"rt_{key.prefix}_")
    assert key.key_hash == hash_api_key(raw)
    assert raw not in key.key_hash
    assert key.role == Role.ANALYST
    assert key.created_by_id == owner.user_id
    page = response.content.decode()
    assert raw in page
    assert "won&#x27;t be shown again" in page or "won't be shown again" in page
    # Never again: not on the next page view, not in the session.
    assert raw not in client.get(reverse("api-keys")).content.decode()
    assert raw not in str(dict(client.session))


def test_invalid_key_form_is_rejected_without_creating(acme_owner_client: Client, acme: WiredAccount) -> None:
    response = acme_owner_client.post(reverse("api-keys"), {"name": "", "role": "emperor"})
    assert response.status_code == 400
    assert not ApiKey.objects.filter(account=acme.account).exists()


def test_admin_cannot_mint_an_owner_key(
    acme: WiredAccount,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    client = client_for_member(make_member(acme.account, Role.ADMIN))
    assert client.post(reverse("api-keys"), {"name": "Escalate", "role": Role.OWNER}).status_code == 400
    assert client.post(reverse("api-keys"), {"name": "Fine", "role": Role.ADMIN}).status_code == 200
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["Fine"]


@pytest.mark.parametrize("role", [Role.ANALYST, Role.READ_ONLY])
def test_non_writers_cannot_create_or_revoke(
    role: str,
    acme: WiredAccount,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    from ringtrail.accounts.actions import create_api_key

    key, _ = create_api_key(acme.account, "Existing", Role.ADMIN, None)
    client = client_for_member(make_member(acme.account, role))
    assert client.post(reverse("api-keys"), {"name": "Mine", "role": Role.READ_ONLY}).status_code == 403
    assert client.post(reverse("api-key-revoke", kwargs={"pk": key.pk})).status_code == 403
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["Existing"]
    key.refresh_from_db()
    assert key.revoked_at is None


def test_owner_revokes_a_key(acme_owner_client: Client, acme: WiredAccount) -> None:
    from ringtrail.accounts.actions import create_api_key

    key, _ = create_api_key(acme.account, "Old integration", Role.ADMIN, None)
    response = acme_owner_client.post(reverse("api-key-revoke", kwargs={"pk": key.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("api-keys")
    key.refresh_from_db()
    assert key.revoked_at is not None
    first_revocation = key.revoked_at
    # Revoking twice keeps the first time.
    acme_owner_client.post(reverse("api-key-revoke", kwargs={"pk": key.pk}))
    key.refresh_from_db()
    assert key.revoked_at == first_revocation


def test_revoke_is_post_only(acme_owner_client: Client, acme: WiredAccount) -> None:
    from ringtrail.accounts.actions import create_api_key

    key, _ = create_api_key(acme.account, "Keep", Role.ADMIN, None)
    assert acme_owner_client.get(reverse("api-key-revoke", kwargs={"pk": key.pk})).status_code == 405
    key.refresh_from_db()
    assert key.revoked_at is None


def test_another_accounts_member_gets_404_revoking_our_key(
    rival_owner_client: Client, acme: WiredAccount
) -> None:
    from ringtrail.accounts.actions import create_api_key

    key, _ = create_api_key(acme.account, "Acme key", Role.ADMIN, None)
    response = rival_owner_client.post(reverse("api-key-revoke", kwargs={"pk": key.pk}))
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_key_names_are_escaped(acme_owner_client: Client, acme: WiredAccount) -> None:
    response = acme_owner_client.post(reverse("api-keys"), {"name": "<b>bold</b>", "role": Role.READ_ONLY})
    page = response.content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<b>bold</b>" not in page


# --- admin ---------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(db: None) -> Client:
    user = get_user_model().objects.create_superuser(username="support", password=PASSWORD)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "accounts.account",
        "accounts.membership",
        "accounts.apikey",
        "carriers.carrierconnection",
        "sources.source",
        "numbers.receivingnumber",
        "numbers.trackingnumber",
        "calls.call",
        "calls.callevent",
    ],
)
def test_admin_pages_load(
    model: str, staff_client: Client, acme: WiredAccount, make_call: Callable[..., object]
) -> None:
    make_call(acme)
    app, name = model.split(".")
    assert staff_client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200
    if name != "apikey":
        assert staff_client.get(reverse(f"admin:{app}_{name}_add")).status_code == 200


def test_admin_never_shows_the_carrier_secret(staff_client: Client, acme: WiredAccount) -> None:
    connection = acme.connection
    url = reverse("admin:carriers_carrierconnection_change", args=[connection.pk])
    page = staff_client.get(url).content.decode()
    assert acme.auth_token not in page
    assert connection.secret_sealed not in page
    assert 'name="new_secret"' in page


def test_admin_cannot_add_api_keys(staff_client: Client) -> None:
    assert staff_client.get(reverse("admin:accounts_apikey_add")).status_code == 403


def test_admin_connection_form_sets_a_new_secret_write_only(acme: WiredAccount) -> None:
    connection = acme.connection
    base = {
        "account": acme.account.pk,
        "kind": connection.kind,
        "label": "",
        "account_sid": connection.account_sid,
    }

    unchanged = CarrierConnectionAdminForm(data={**base, "new_secret": ""}, instance=connection)
    assert unchanged.is_valid(), unchanged.errors
    assert unchanged.save(commit=False).secret() == acme.auth_token

    changed = CarrierConnectionAdminForm(data={**base, "new_secret": "fresh-token"}, instance=connection)
    assert changed.is_valid(), changed.errors
    assert changed.save(commit=False).secret() == "fresh-token"

    new = CarrierConnectionAdminForm(data={**base, "account_sid": "AC" + "0" * 32, "new_secret": ""})
    assert not new.is_valid()
    assert "new_secret" in new.errors
