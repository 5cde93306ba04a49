"""Audit records: one per operator action attempt, append-only."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Outcome(enum.Enum):
    DENIED = "denied"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class AuditEntry:
    """What a service writes; the store adds the id."""

    at: datetime
    username: str
    role: str
    action: str
    target: str
    outcome: Outcome
    reason: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    error: str = ""


@dataclass(frozen=True)
class AuditRecord(AuditEntry):
    id: int = 0


@dataclass(frozen=True)
class AuditFilter:
    """Every field narrows the result; None or empty means 'any'. ``until`` is exclusive."""

    username: str | None = None
    action: str | None = None
    target_contains: str | None = None
    outcome: Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000


@dataclass(frozen=True)
class LoginAttempt:
    at: datetime
    username: str
    succeeded: bool
