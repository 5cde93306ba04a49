"""Addresses a person opens from an alert or a page: absolute http(s) URLs, checked before they are used."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def web_url_problem(value: Any, *, example: str, allow_query: bool = True) -> str:
    """Why ``value`` is not an absolute http(s) URL with a host, or "" when it is one.

    ``example`` completes the message ("must be an absolute http(s) URL such as <example>"); with
    ``allow_query=False`` a query or fragment is a problem too (for a base address that paths are added to).
    """
    wanted = f"an absolute http(s) URL such as {example}"
    if not isinstance(value, str) or not value.strip():
        return f"must be {wanted}, got {value!r}"
    if any(character.isspace() or ord(character) < 32 for character in value):
        return f"must be {wanted}, without spaces or line breaks; got {value!r}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError here
    except ValueError as err:
        return f"must be {wanted}; {value!r} does not parse ({err})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be {wanted}, got {value!r}"
    if not allow_query and (parts.query or parts.fragment or value.endswith(("?", "#"))):
        return f"must be {wanted}, without a query or fragment; got {value!r}"
    return ""
