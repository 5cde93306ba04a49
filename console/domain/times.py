"""Time as the console reads and writes it: timezone-aware UTC datetimes, and RFC 3339 text ending in ``Z``.

Kubernetes, MLflow tags, log lines and the audit log all carry RFC 3339 timestamps; Python 3.11's
``datetime.fromisoformat`` reads them (``Z`` and nanosecond fractions included, the fraction cut to
microseconds), so every layer parses and formats through these few functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["seconds", "milliseconds", "microseconds"]


def to_utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive datetime is taken to be UTC already."""
    if at.tzinfo is UTC:  # the common case, and a hot path: log lines are formatted ten thousand at a time
        return at
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp (``2026-03-02T09:30:00Z``, ``...+02:00``) as an aware UTC datetime.

    Raises ValueError for text that is not one, a timestamp without an offset included: its zone is unknown.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is UTC:  # the common case, "Z": no conversion
        return moment
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)


def parse_rfc3339_or_none(text: str | None) -> datetime | None:
    """``parse_rfc3339`` for optional or untrusted text (a log line's first word): None when it is not one."""
    if not text:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def format_rfc3339(at: datetime, precision: Precision = "seconds") -> str:
    """``at`` in UTC as RFC 3339 with a ``Z``, to the second (Kubernetes' own), millisecond or microsecond."""
    return to_utc(at).isoformat(timespec=precision)[:-6] + "Z"  # "+00:00" -> "Z"
