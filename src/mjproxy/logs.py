"""Logging set-up with a last line of defence for DESIGN invariant 6: known secrets are redacted."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .domain.secrets import mask_secret


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 6 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            if secret in redacted:
                redacted = redacted.replace(secret, mask_secret(secret))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_redactor = RedactSecrets(())

NOISY_LIBRARIES = ("httpx", "httpcore", "websockets")


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def formatter_for(style: str) -> logging.Formatter:
    """``text`` for people, ``json`` (one object per line: time, level, logger, message) for collectors."""
    if style == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                             rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, secrets: Iterable[str] = (), *, style: str = "text") -> RedactSecrets:
    for secret in secrets:
        _redactor.add(secret)
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(style))
    handler.addFilter(_redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_libraries(root.level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    return _redactor


def quiet_libraries(root_level: int) -> None:
    """Client libraries log at WARNING at most, even when mjproxy itself runs at DEBUG.

    Per-request logs would drown the useful lines, and their DEBUG records carry raw frames and
    payloads: websockets logs the gateway's IDENTIFY frame, Discord token included (DESIGN invariant 6).
    """
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root_level))


def redactor() -> RedactSecrets:
    return _redactor
