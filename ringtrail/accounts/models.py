"""Tenants, the people in them, and the API keys that act for them."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.text import slugify


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    ANALYST = "analyst", "Analyst"
    READ_ONLY = "read_only", "Read-only"


# Roles that may change configuration (numbers, sources, connections, keys).
WRITER_ROLES = frozenset({Role.OWNER, Role.ADMIN})


def new_public_key() -> str:
    return f"pk_{secrets.token_urlsafe(12)}"


class Account(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Identifies the account in the public tracking script and DNI endpoint; not a secret.
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key)
    # Origins (scheme://host[:port]) allowed to call the DNI endpoint, one per line; empty allows any.
    allowed_origins = models.TextField(blank=True)
    cookie_window_days = models.PositiveSmallIntegerField(default=30)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def origin_allowed(self, origin: str) -> bool:
        allowed = [
            line.strip().rstrip("/").lower() for line in self.allowed_origins.splitlines() if line.strip()
        ]
        return not allowed or origin.rstrip("/").lower() in allowed

    @staticmethod
    def unique_slug_for(name: str) -> str:
        base = slugify(name)[:70] or "account"
        slug, n = base, 2
        while Account.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.READ_ONLY)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"


API_KEY_PREFIX = "rt"


def hash_api_key(raw_key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough; no password stretching needed.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ADMIN)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate() -> tuple[str, str]:
        """Return (prefix, full key); the full key is shown once and only its hash is stored."""
        prefix = secrets.token_hex(4)
        return prefix, f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
