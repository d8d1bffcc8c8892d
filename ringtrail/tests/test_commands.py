"""The `ringtrail` console script's own commands."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from ringtrail.accounts.models import Account, ApiKey, Membership
from ringtrail.dashboard.demo import DEMO_ACCOUNT_SID, DEMO_POOL, seed_demo
from ringtrail.numbers.models import TrackingNumber

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


def test_account_create_prints_the_slug_and_makes_an_owner() -> None:
    slug, _ = run(
        "account", "create", "Acme Plumbing", "--owner", "boss@acme.test", "--password", "s3cret-pass-1"
    )
    assert slug == "acme-plumbing"
    membership = Membership.objects.get(account__slug=slug)
    assert membership.role == "owner" and membership.user.check_password("s3cret-pass-1")
    again, _ = run("account", "create", "Acme Plumbing", "--owner", "boss@acme.test")
    assert again == "acme-plumbing-2"  # same owner, second account


def test_account_create_generates_a_password_when_none_given() -> None:
    _, err = run("account", "create", "Solo", "--owner", "solo@example.test")
    assert "password:" in err


def test_account_create_refuses_a_bad_email() -> None:
    with pytest.raises(CommandError, match="not a valid email"):
        run("account", "create", "X", "--owner", "not-an-email")


def test_apikey_create_prints_a_working_key_once_and_stores_its_hash(client: Client) -> None:
    slug, _ = run("account", "create", "Keyed", "--owner", "k@example.test", "--password", "s3cret-pass-1")
    raw, _ = run("apikey", "create", slug, "--name", "CI", "--role", "read_only")
    key = ApiKey.objects.get()
    assert raw.startswith("rt_") and raw not in key.key_hash and key.role == "read_only"
    assert client.get("/api/v1/calls", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    with pytest.raises(CommandError, match="no account"):
        run("apikey", "create", "nope", "--name", "x")


def test_demo_seed_is_idempotent_and_wired_for_the_simulator() -> None:
    seed_demo()
    seed_demo()
    assert Account.objects.filter(slug="demo").count() == 1
    numbers = TrackingNumber.objects.filter(account__slug="demo")
    assert numbers.count() == 3 + len(DEMO_POOL) + 1 and {n.connection.account_sid for n in numbers} == {
        DEMO_ACCOUNT_SID
    }
    assert TrackingNumber.objects.filter(pool__source__name="Google Ads (website)").count() == len(DEMO_POOL)


def test_production_mode_refuses_the_default_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["RINGTRAIL_PRODUCTION"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "ringtrail", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
    env["SECRET_KEY"] = "a-real-secret-" + "x" * 40
    env["ALLOWED_HOSTS"] = "ringtrail.example"
    ok = subprocess.run(
        [sys.executable, "-m", "ringtrail", "check"], env=env, capture_output=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr


def test_demo_site_carries_the_tracking_code(client: Client) -> None:
    assert client.get("/demo/site/").status_code == 404
    demo = seed_demo()
    html = client.get("/demo/site/").content.decode()
    assert f'src="/t/{demo.account.public_key}.js"' in html and "(415) 555-0199" in html
