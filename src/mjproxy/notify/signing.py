"""Callback signatures: HMAC-SHA256 over ``timestamp + "." + body``, as receivers verify them.

The timestamp is part of the signed text so that a captured request cannot be replayed later with a fresh
timestamp; receivers reject timestamps too far from their own clock (docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac

SEQUENCE_HEADER = "X-MJProxy-Sequence"
EVENT_ID_HEADER = "X-MJProxy-Event-Id"
TIMESTAMP_HEADER = "X-MJProxy-Timestamp"
SIGNATURE_HEADER = "X-MJProxy-Signature"
SCHEME = "sha256="


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of ``X-MJProxy-Signature`` for this timestamp and body: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SCHEME + digest


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """True if ``header`` is the signature of this timestamp and body (constant-time comparison)."""
    return hmac.compare_digest(signature(secret, timestamp, body).encode(), header.strip().encode())
