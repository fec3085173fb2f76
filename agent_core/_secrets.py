"""Redaction of secrets from any text that may reach logs, errors, run records or the UI."""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

__all__ = ["redact", "secret_values", "is_secret_name", "scrubbed_env"]

_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# Shapes of well-known keys, redacted even when they are not in the environment.
_SECRET_SHAPES = re.compile(
    r"\bhf_[A-Za-z0-9]{20,}\b"  # Hugging Face tokens
    r"|\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}\b"  # OpenAI / Anthropic style keys
    r"|\be2b_[A-Za-z0-9]{20,}\b"
)
REDACTED = "[REDACTED]"


def is_secret_name(name: str) -> bool:
    """Whether an environment variable name looks like it holds a secret."""
    return bool(_SECRET_NAME.search(name))


def secret_values(extra: Iterable[str] = ()) -> list[str]:
    """Values of secret-looking env vars (plus ``extra``), longest first."""
    values = {v for k, v in os.environ.items() if is_secret_name(k) and len(v) >= 6}
    values.update(v for v in extra if v and len(v) >= 6)
    return sorted(values, key=len, reverse=True)


def redact(value: Any, extra: Iterable[str] = (), secrets: list[str] | None = None) -> Any:
    """Return ``value`` with every secret replaced by ``[REDACTED]``.

    Strings, and strings nested in dicts, lists and tuples, are redacted; other
    values are returned unchanged.

    Args:
        value: what to redact.
        extra: more secret values, on top of the environment's.
        secrets: a list from :func:`secret_values` computed once, for hot paths that
            redact many values (reading the environment costs more than redacting).
    """
    return _redact(value, secret_values(extra) if secrets is None else secrets)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v, secrets) for v in value)
    return value


def scrubbed_env(allow: Iterable[str] = ()) -> dict[str, str]:
    """A minimal environment for child processes: no secrets, nothing unlisted."""
    keep = {"PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED", *allow}
    return {k: v for k, v in os.environ.items() if k in keep and not is_secret_name(k)}
