"""DNI dashboard pages: tracking code and pool advice, scoped to the member's account."""

from __future__ import annotations

import pytest
from django.test import Client

from ringtrail.dni.tests.support import Site, make_site
from ringtrail.testing import member

pytestmark = pytest.mark.django_db


def signed_in(site: Site, role: str = "read_only") -> Client:
    client = Client()
    client.force_login(member(site.wired.account, role).user)
    return client


def test_tracking_code_page_shows_the_snippet_and_targets(site: Site) -> None:
    html = signed_in(site).get("/settings/tracking-code/").content.decode()
    assert f"/t/{site.key}.js" in html and "+14155550199" in html and f"/pools/{site.pool.pk}/" in html


def test_pool_page_shows_advice(site: Site) -> None:
    html = signed_in(site).get(f"/pools/{site.pool.pk}/").content.decode()
    assert "Size for ≤ 1 % fallback" in html and "What if the hold time were" in html


def test_other_accounts_pool_is_404_and_anonymous_is_sent_to_login(site: Site) -> None:
    other = make_site()
    assert signed_in(site).get(f"/pools/{other.pool.pk}/").status_code == 404
    assert Client().get("/settings/tracking-code/").status_code == 302
