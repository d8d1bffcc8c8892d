"""Symmetric encryption for credentials at rest (carrier auth tokens, signing keys)."""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.cache
def _fernet(key_material: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ringtrail-credentials").derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _box() -> Fernet:
    return _fernet(settings.ENCRYPTION_KEY or settings.SECRET_KEY)


def seal(plaintext: str) -> str:
    return _box().encrypt(plaintext.encode()).decode()


def unseal(token: str) -> str:
    """Decrypt; an undecryptable value (rotated key, tampering) yields '' so callers fail closed."""
    return _unseal(token, settings.ENCRYPTION_KEY or settings.SECRET_KEY)


@functools.lru_cache(maxsize=1024)
def _unseal(token: str, key_material: str) -> str:
    # Every signed webhook needs its connection's secret; decrypting it once per process is enough.
    try:
        return _fernet(key_material).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return ""
