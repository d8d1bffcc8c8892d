"""Shared DNI test setup: an account with a swap target, a paid online source and a two-number pool."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from django.test import Client

from ringtrail.dni.models import Pool
from ringtrail.numbers.models import SwapTarget, TrackingNumber
from ringtrail.sources.models import Source, SourceRule
from ringtrail.testing import WiredAccount, wired_account

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
TARGET = "+14155550199"


_sites = itertools.count()


@dataclass
class Site:
    wired: WiredAccount
    paid: Source
    pool: Pool
    numbers: list[TrackingNumber]
    key: str


def make_site() -> Site:
    n = next(_sites)
    wired = wired_account(tracking=f"+1415555{100 + n:04d}")
    SwapTarget.objects.create(account=wired.account, number=TARGET, label="Main line")
    paid = Source.objects.create(account=wired.account, name="Google Ads (web)", medium="cpc", kind="online")
    SourceRule.objects.create(source=paid, kind="click_id", value="gclid")
    pool = Pool.objects.create(account=wired.account, source=paid, fallback_number=wired.tracking)
    numbers = [
        TrackingNumber.objects.create(
            account=wired.account,
            number=f"+1415555{7000 + 10 * n + i}",
            connection=wired.connection,
            pool=pool,
            source=paid,
            receiving_number=wired.receiving,
        )
        for i in range(2)
    ]
    return Site(wired, paid, pool, numbers, wired.account.public_key)


def post(client: Client, site: Site, body: Any, path: str = "session", **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers.setdefault("HTTP_USER_AGENT", BROWSER)
    return client.post(f"/dni/v1/{site.key}/{path}", raw, content_type="text/plain", **headers)


def visit(
    url: str = "https://acme.test/?gclid=G1&utm_source=google&utm_campaign=spring", **extra: Any
) -> dict[str, Any]:
    return {"url": url, "referrer": "https://www.google.com/", "targets": ["(415) 555-0199"], **extra}
