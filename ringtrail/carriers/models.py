"""Connections to carrier accounts whose numbers Ringtrail answers for."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.lib.secrets_box import seal, unseal


class CarrierKind(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    SIGNALWIRE = "signalwire", "SignalWire"
    TELNYX = "telnyx", "Telnyx"


class CarrierConnection(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="carrier_connections")
    kind = models.CharField(max_length=16, choices=CarrierKind.choices)
    label = models.CharField(max_length=100, blank=True)
    # Twilio's Account SID or SignalWire's project id: what webhooks send as AccountSid.
    account_sid = models.CharField(max_length=64)
    # The auth token (Twilio) or signing key (SignalWire), encrypted; never returned by any API.
    # For Telnyx, the secret is the API key (for outbound calls) and webhooks are verified with the
    # account's Ed25519 public key instead, which is not a secret.
    secret_sealed = models.TextField(editable=False)
    webhook_public_key = models.CharField(max_length=100, blank=True)
    # Where the carrier's REST API lives; blank means the carrier's public API. The carrier
    # simulator's REST stand-in is reached by pointing this at it (demo and tests).
    api_base_url = models.URLField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "account_sid"], name="one_connection_per_sid")]

    def __str__(self) -> str:
        return self.label or f"{self.get_kind_display()} {self.account_sid}"

    def set_secret(self, secret: str) -> None:
        self.secret_sealed = seal(secret)

    def secret(self) -> str:
        return unseal(self.secret_sealed)
