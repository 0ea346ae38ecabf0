"""Logging helpers: request/user context on every record, secret redaction and a JSON formatter for production."""
from __future__ import annotations

import contextvars
import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
user_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("user_id", default="")

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def current_request_id() -> str:
    """Return the id of the request being served, or "" outside a request."""
    return request_id_var.get()


class RequestContextFilter(logging.Filter):
    """Attach ``request_id`` and ``user_id`` to every record so formatters can print them.

    A handler filter rather than a log-record factory on purpose: a factory would make
    ``logger.info(..., extra={"user_id": ...})`` raise ``KeyError`` (attribute already set).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or request_id_var.get() or "-"
        record.user_id = getattr(record, "user_id", None) or user_id_var.get() or ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request/user ids and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", ""),
        }
        # The LiteLLM call id (``extra={"litellm_call_id": ...}``) joins our line to LiteLLM's own logs.
        call_id = getattr(record, "litellm_call_id", None)
        if call_id:
            payload["litellm_call_id"] = str(call_id)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in payload:
                if isinstance(value, str):
                    value = redact(value)
                payload[key] = value if isinstance(value, str | int | float | bool | type(None)) else redact(str(value))
        if record.exc_info:
            payload["exception"] = redact(record.exc_text or self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exception"] = redact(record.exc_text)
        return json.dumps(payload, default=str)


# ---------------------------------------------------------------------------------------------------------
# Secret redaction
# ---------------------------------------------------------------------------------------------------------
# What a secret looks like here: LiteLLM virtual keys and the master key (``sk-...``), our personal API
# tokens (``ltm_...``) and any bearer credential. A prefix stays visible so a masked line is still useful.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{4,}"), r"\1[REDACTED]"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{4,}"), "sk-[REDACTED]"),
    (re.compile(r"\bltm_[A-Za-z0-9_-]{4,}"), "ltm_[REDACTED]"),
)
_master_key_cache: list[str] = []


def _master_key() -> str:
    """The LiteLLM master key's value, from Django settings when configured, else from the environment."""
    if _master_key_cache:
        return _master_key_cache[0]
    value = ""
    try:
        from django.conf import settings

        if settings.configured:
            value = getattr(settings, "LITELLM_MASTER_KEY", "") or ""
    except Exception:  # noqa: BLE001 - logging must never fail because settings are half-loaded
        value = ""
    if not value:
        value = os.environ.get("LITELLM_MASTER_KEY", "")
        key_file = os.environ.get("LITELLM_MASTER_KEY_FILE")
        if not value and key_file:
            try:
                value = Path(key_file).read_text(encoding="utf-8").strip()
            except OSError:
                value = ""
    # Only cache a found key: settings may not be configured yet the first time a record is logged.
    if value:
        _master_key_cache.append(value)
    return value


def redact(text: str) -> str:
    """Mask API keys, personal tokens, bearer credentials and the master key's value in ``text``."""
    if not text:
        return text
    master = _master_key()
    if master and len(master) >= 8 and master in text:
        text = text.replace(master, "[REDACTED]")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretRedactingFilter(logging.Filter):
    """Rewrite each record so no handler can print a secret: the message, string extras and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logged as is, never raised
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse ``exc_text`` when set, so masking it here covers every formatter.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        return True
