"""The spam page, marking and unmarking, and spam left out of the call log and the calls API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from ringtrail.accounts.models import Membership, Role
from ringtrail.calls.models import Call
from ringtrail.screening.models import BlockRule, ScreeningPolicy
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db

MakeCall = Callable[..., Call]
SCRIPT = "<script>alert(1)</script>"


def spam_call(make_call: MakeCall, wired: WiredAccount, **fields: object) -> Call:
    fields.setdefault("spam_reason", "block list: prefix +1900")
    return make_call(wired, is_spam=True, **fields)


def names_on_log(client: Client, **params: str) -> set[str]:
    response = client.get(reverse("calls:log"), params)
    assert response.status_code == 200
    return {row.call.customer_name for row in response.context["rows"]}


def test_anonymous_is_sent_to_login(client: Client, acme: WiredAccount, make_call: MakeCall) -> None:
    call = make_call(acme)
    assert client.get(reverse("screening:spam"))["Location"].startswith(reverse("login"))
    assert client.post(reverse("screening:mark", args=[call.pk])).status_code == 302
    call.refresh_from_db()
    assert not call.is_spam


def test_spam_page_lists_this_accounts_spam_escaped(
    acme_owner_client: Client, acme: WiredAccount, rival: WiredAccount, make_call: MakeCall
) -> None:
    spam_call(
        make_call, acme, customer_name=SCRIPT, spam_reason=f"block list: caller name matches '{SCRIPT}'"
    )
    make_call(acme, customer_name="A real customer")
    spam_call(make_call, rival, customer_name="Rival spam")
    page = acme_owner_client.get(reverse("screening:spam"))
    assert page.status_code == 200
    html = page.content.decode()
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A real customer" not in html and "Rival spam" not in html
    assert "1 spam call" in html and "Not spam" in html


def test_nav_links_to_the_spam_page(acme_owner_client: Client) -> None:
    html = acme_owner_client.get(reverse("calls:log")).content.decode()
    assert f'href="{reverse("screening:spam")}"' in html


def test_unmark_puts_the_call_back_in_the_log(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = spam_call(make_call, acme, customer_name="Actually a customer")
    assert names_on_log(acme_owner_client) == set()
    response = acme_owner_client.post(
        reverse("screening:unmark", args=[call.pk]), {"next": reverse("screening:spam")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("screening:spam")
    call.refresh_from_db()
    assert not call.is_spam and call.spam_reason == ""
    assert names_on_log(acme_owner_client) == {"Actually a customer"}


def test_mark_from_the_call_page(acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall) -> None:
    call = make_call(acme, customer_name="Robocaller")
    detail = reverse("calls:detail", args=[call.pk])
    assert "Mark as spam" in acme_owner_client.get(detail).content.decode()
    response = acme_owner_client.post(
        reverse("screening:mark", args=[call.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == detail  # an off-site "next" is ignored
    call.refresh_from_db()
    assert call.is_spam and call.spam_reason == "marked as spam by a member"
    html = acme_owner_client.get(detail).content.decode()
    assert "spam-badge" in html and "Not spam" in html
    assert names_on_log(acme_owner_client) == set()


def test_call_page_escapes_the_reason(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = spam_call(make_call, acme, spam_reason=f"block list: caller name matches '{SCRIPT}'")
    html = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert SCRIPT not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.ANALYST])
def test_read_only_members_see_spam_but_cannot_change_it(
    role: str,
    acme: WiredAccount,
    make_call: MakeCall,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    client = client_for_member(make_member(acme.account, role))
    spam = spam_call(make_call, acme)
    ham = make_call(acme)
    page = client.get(reverse("screening:spam")).content.decode()
    assert "1 spam call" in page and "Not spam" not in page
    assert "Mark as spam" not in client.get(reverse("calls:detail", args=[ham.pk])).content.decode()
    assert client.post(reverse("screening:unmark", args=[spam.pk])).status_code == 403
    assert client.post(reverse("screening:mark", args=[ham.pk])).status_code == 403
    spam.refresh_from_db()
    ham.refresh_from_db()
    assert spam.is_spam and not ham.is_spam


def test_another_accounts_call_is_404(
    rival_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    spam = spam_call(make_call, acme)
    ham = make_call(acme)
    assert rival_owner_client.post(reverse("screening:unmark", args=[spam.pk])).status_code == 404
    assert rival_owner_client.post(reverse("screening:mark", args=[ham.pk])).status_code == 404
    spam.refresh_from_db()
    ham.refresh_from_db()
    assert spam.is_spam and not ham.is_spam


def test_mark_needs_post_and_csrf(
    acme: WiredAccount, make_call: MakeCall, make_member: Callable[..., Membership]
) -> None:
    call = make_call(acme)
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_member(acme.account, Role.OWNER).user)
    assert client.get(reverse("screening:mark", args=[call.pk])).status_code == 405
    assert client.post(reverse("screening:mark", args=[call.pk])).status_code == 403
    call.refresh_from_db()
    assert not call.is_spam


def test_log_spam_filter(acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall) -> None:
    spam_call(make_call, acme, customer_name="Spammer")
    make_call(acme, customer_name="Customer")
    assert names_on_log(acme_owner_client) == {"Customer"}
    assert names_on_log(acme_owner_client, spam="only") == {"Spammer"}
    assert names_on_log(acme_owner_client, spam="include") == {"Spammer", "Customer"}
    html = acme_owner_client.get(reverse("calls:log"), {"spam": "only"}).content.decode()
    assert "spam-badge" in html


def test_calls_api_leaves_spam_out_unless_asked(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    spam = spam_call(make_call, acme)
    ham = make_call(acme)
    default = acme_owner_client.get("/api/v1/calls").json()
    assert [c["id"] for c in default["calls"]] == [ham.pk] and default["calls"][0]["is_spam"] is False
    only = acme_owner_client.get("/api/v1/calls", {"spam": "true"}).json()
    assert [c["id"] for c in only["calls"]] == [spam.pk]
    assert only["calls"][0]["spam_reason"] == "block list: prefix +1900"
    assert acme_owner_client.get(f"/api/v1/calls/{spam.pk}").json()["is_spam"] is True


def test_spam_page_shows_the_set_up_escaped(
    acme_owner_client: Client, acme: WiredAccount, rival: WiredAccount
) -> None:
    BlockRule.objects.create(account=acme.account, kind="name", pattern="*<b>spam</b>*", note=SCRIPT)
    BlockRule.objects.create(
        account=acme.account, kind="prefix", pattern="+1900", tracking_number=acme.tracking
    )
    BlockRule.objects.create(account=rival.account, kind="prefix", pattern="+1876")
    ScreeningPolicy.objects.create(account=acme.account, stir_failed="reject", short_calls_action="challenge")
    html = acme_owner_client.get(reverse("screening:spam")).content.decode()
    assert "*&lt;b&gt;spam&lt;/b&gt;*" in html and SCRIPT not in html
    assert "+1900" in html and acme.tracking.number in html and "+1876" not in html
    assert "Block list (2 rules)" in html and "challenge (3 under 10 s in 60 min)" in html
    assert html.count("Screening set-up") == 1 and "<title>Spam · Ringtrail</title>" in html
