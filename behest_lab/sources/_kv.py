"""What the readers of behest's key-value, document, object and vector stores share.

Locations come from ``behest_lab.sources.base.redact_url``; errors also go through ``scrub``, so a driver's message
that echoes the URL cannot leak the password either.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from uuid import UUID

import pydantic

from behest_lab.errors import SourceError
from behest_lab.records import Provenance

__all__ = ["SECRET_WORDS", "error", "provenance", "scrub", "secrets_of", "short_reason"]

#: Query parameters whose name contains one of these words are treated as secrets.
SECRET_WORDS = ("pass", "secret", "token", "key", "credential")

_REDACTED = "***"


def _is_secret_param(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def secrets_of(url: str) -> list[str]:
    """The secret values in ``url`` (the password and secret query values), plain and percent-encoded.

    Args:
        url: a source URL, or a path (which has none).

    Returns:
        Every non-empty secret, longest first, so ``scrub`` replaces a longer secret before its prefix.
    """
    parts = urlsplit(url)
    found: set[str] = set()
    if parts.password:
        found.update({parts.password, unquote(parts.password), quote(unquote(parts.password), safe="")})
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if value and _is_secret_param(name):
            found.update({value, quote(value, safe="")})
    return sorted((s for s in found if s), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``.

    Args:
        text: a message that may echo a URL (a driver's error text).
        secrets: the values to hide (from ``secrets_of``).
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def provenance(record_id: UUID, table: str, source: str, location: str, ref: str) -> Provenance:
    """One ``Provenance`` entry (a shorthand the readers share; built without re-validating its plain fields).

    Args:
        record_id: the record's id.
        table: the store table the record lands in.
        source: the kind of source.
        location: the secret-free location.
        ref: the key, document or object inside the source.
    """
    return Provenance.model_construct(record_id=record_id, table=table, source=source, location=location, ref=ref)


def error(message: str, *, source: str, location: str, table: str | None = None, key: str | None = None) -> SourceError:
    """A ``SourceError`` (a shorthand the readers share; ``message`` must already be scrubbed)."""
    return SourceError(message, source=source, location=location, table=table, key=key)


def short_reason(exc: Exception) -> str:
    """The first reason an exception gives, on one line (a pydantic error: its first field and message).

    Args:
        exc: a decoding error.
    """
    if isinstance(exc, pydantic.ValidationError):
        errors = exc.errors(include_url=False)
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            message = str(first.get("msg", ""))
            return f"{where}: {message}" if where else message
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
