"""The demo account: idempotent seed data wired so `ringtrail simulate call` works out of the box."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from ringtrail.accounts.models import Account, Membership, Role
from ringtrail.callbacks.models import CallbackSettings
from ringtrail.carriers.models import CarrierConnection
from ringtrail.dni.models import Pool
from ringtrail.flows.actions import create_flow
from ringtrail.flows.models import Flow
from ringtrail.numbers.models import ReceivingNumber, SwapTarget, TrackingNumber
from ringtrail.sources.models import Source, SourceKind, SourceRule

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@ringtrail.local"
DEMO_PASSWORD = "ringtrail-demo"  # noqa: S105 - a published demo credential, local only
DEMO_ACCOUNT_SID = "AC" + "de" * 16
DEMO_AUTH_TOKEN = "demo-auth-token-0000000000000000"  # noqa: S105 - the simulator's demo connection
DEMO_NUMBERS = (
    # tracking number, source, medium, record, whisper
    ("+14155550100", "Google Ads", "cpc", True, "Call from {source}"),
    ("+14155550101", "Billboard I-80", "offline", False, ""),
    ("+14155550102", "Radio KQED", "offline", True, "Radio caller"),
)
DEMO_DESK = "+14155550199"
DEMO_ON_CALL = "+14155550198"
DEMO_FLOW_NAME = "Billboard IVR"
# DNI: the desk number is what the demo website prints; visitors from Google Ads see a pool number.
# Sized for the demo's own traffic run (a dozen visitors, 15-minute holds) with room to spare.
DEMO_POOL = tuple(f"+1415555{n:04d}" for n in range(120, 160))
DEMO_POOL_FALLBACK = "+14155550119"


@dataclass(frozen=True)
class DemoAccount:
    account: Account
    email: str
    password: str


@transaction.atomic
def seed_demo() -> DemoAccount:
    account, _ = Account.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Plumbing Co."})
    users = get_user_model()
    user = users.objects.filter(username=DEMO_EMAIL).first()
    if user is None:
        user = users.objects.create_user(username=DEMO_EMAIL, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    Membership.objects.get_or_create(user=user, account=account, defaults={"role": Role.OWNER})
    connection = CarrierConnection.objects.filter(kind="twilio", account_sid=DEMO_ACCOUNT_SID).first()
    if connection is None:
        connection = CarrierConnection(
            account=account, kind="twilio", account_sid=DEMO_ACCOUNT_SID, label="Demo"
        )
        connection.set_secret(DEMO_AUTH_TOKEN)
        connection.save()
    desk, _ = ReceivingNumber.objects.get_or_create(
        account=account, number=DEMO_DESK, defaults={"label": "Front desk"}
    )
    for number, source_name, medium, record, whisper in DEMO_NUMBERS:
        source, _ = Source.objects.get_or_create(
            account=account, name=source_name, defaults={"medium": medium}
        )
        if not TrackingNumber.objects.filter(number=number).exclude(state="released").exists():
            TrackingNumber.objects.create(
                account=account,
                number=number,
                connection=connection,
                source=source,
                receiving_number=desk,
                record_calls=record,
                whisper_text=whisper,
            )
    _seed_dni(account, connection, desk)
    _seed_flow(account, desk)
    # Call-backs from visits that were shown no pool number call the business from the Google Ads number.
    CallbackSettings.objects.get_or_create(
        account=account,
        defaults={
            "tracking_number": TrackingNumber.objects.get(number=DEMO_NUMBERS[0][0]),
            "receiving_number": desk,
        },
    )
    return DemoAccount(account, DEMO_EMAIL, DEMO_PASSWORD)


def _seed_flow(account: Account, desk: ReceivingNumber) -> None:
    """The billboard number answers with a small IVR, so the demo shows call flows and their paths."""
    van, _ = ReceivingNumber.objects.get_or_create(
        account=account, number=DEMO_ON_CALL, defaults={"label": "On-call van"}
    )
    flow = Flow.objects.filter(account=account, name=DEMO_FLOW_NAME).first()
    if flow is None:
        flow = create_flow(account, DEMO_FLOW_NAME, demo_flow_document(desk.pk, van.pk))
    number = TrackingNumber.objects.get(number=DEMO_NUMBERS[1][0])
    if number.flow_id is None:
        number.flow = flow
        number.save(update_fields=["flow"])


def demo_flow_document(desk_id: int, van_id: int) -> dict[str, object]:
    return {
        "start": "greeting",
        "steps": {
            "greeting": {"type": "say", "text": "Thanks for calling Demo Plumbing.", "next": "menu"},
            "menu": {
                "type": "menu",
                "prompt": (
                    "For a new booking, press 1 or say booking. For an emergency, press 2 or say emergency."
                ),
                "options": {"1": "office", "booking": "office", "2": "on-call", "emergency": "on-call"},
                "speech": True,
                "speech_hints": ["booking", "emergency"],
                "retries": 1,
                "no_input": "voicemail",
            },
            "office": {
                "type": "forward",
                "targets": [{"receiving_number": desk_id}],
                "whisper": {"text": "Booking call from {source}."},
                "no_answer": "voicemail",
            },
            "on-call": {
                "type": "forward",
                "strategy": "sequential",
                "targets": [
                    {"receiving_number": van_id, "timeout_seconds": 15},
                    {"receiving_number": desk_id},
                ],
                "no_answer": "voicemail",
            },
            "voicemail": {"type": "voicemail"},
        },
    }


def _seed_dni(account: Account, connection: CarrierConnection, desk: ReceivingNumber) -> None:
    SwapTarget.objects.get_or_create(account=account, number=DEMO_DESK, defaults={"label": "Main line"})
    web, created = Source.objects.get_or_create(
        account=account, name="Google Ads (website)", defaults={"medium": "cpc", "kind": SourceKind.ONLINE}
    )
    if created:
        SourceRule.objects.create(source=web, kind="click_id", value="gclid")
    fallback = _demo_number(account, connection, desk, DEMO_POOL_FALLBACK, web)
    pool, _ = Pool.objects.get_or_create(account=account, source=web, defaults={"fallback_number": fallback})
    for number in DEMO_POOL:
        pooled = _demo_number(account, connection, desk, number, web)
        if pooled.pool_id != pool.pk:
            pooled.pool = pool
            pooled.save(update_fields=["pool"])


def _demo_number(
    account: Account, connection: CarrierConnection, desk: ReceivingNumber, number: str, source: Source
) -> TrackingNumber:
    found = TrackingNumber.objects.filter(number=number).exclude(state="released").first()
    if found is not None:
        return found
    return TrackingNumber.objects.create(
        account=account,
        number=number,
        connection=connection,
        source=source,
        receiving_number=desk,
        record_calls=True,
    )
